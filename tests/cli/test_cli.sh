#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Tests of the zipc command, run on the built binary in a private store:
#   test_cli.sh ZIPC PEER GOLDEN_DIR SECTION
# SECTION is golden (ls/stat/limits output), verbs (shell pipelines),
# stale (SIGKILLed users, rm --stale) or bad (every bad-input path).
# Speaks TAP. Never sleeps to synchronise: a peer says "ready" through a
# FIFO once it holds its object, and a sleeper is waited for by polling
# zipc stat until it shows up (bounded).
set -u
ZIPC=$1 PEER=$2 GOLDEN=$3 SECTION=$4

export ZIPC_DIR
ZIPC_DIR=$(mktemp -d /dev/shm/zipc-cli.XXXXXX) || exit 1
chmod 1777 "$ZIPC_DIR"
T=$(mktemp -d /tmp/zipc-cli.XXXXXX) || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$ZIPC_DIR" "$T"
}
trap cleanup EXIT
export COLUMNS=400 LC_ALL=C

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

# check DESC EXPECTED_STATUS STDERR_PATTERN -- CMD...: runs CMD, checks its
# exit status and that stderr is one line matching the pattern ('' = empty).
check() {
	local desc=$1 want=$2 pat=$3
	shift 4
	"$@" >"$T/out" 2>"$T/err" </dev/null
	local st=$? lines
	lines=$(wc -l <"$T/err")
	if [ "$st" -ne "$want" ]; then
		not_ok "$desc" "exit $st, wanted $want" "$(cat "$T/err")"
	elif [ -z "$pat" ] && [ -s "$T/err" ]; then
		not_ok "$desc" "unexpected stderr: $(cat "$T/err")"
	elif [ -n "$pat" ] && { [ "$lines" -ne 1 ] ||
		! grep -qE "^zipc(-bench)?: .*$pat" "$T/err"; }; then
		not_ok "$desc" "stderr not one line matching '$pat':" \
			"$(cat "$T/err")"
	else
		ok "$desc"
	fi
}

# golden NAME: compare $T/out (normalised) with $GOLDEN/NAME.
golden() {
	local name=$1 me
	# Whoever runs the tests owns the objects.
	me=$(id -un)
	sed -i -e "s/\\b$me\\b/OWNER/g" "$T/norm"
	if diff -u "$GOLDEN/$name" "$T/norm" >"$T/diff"; then
		ok "golden $name"
	else
		not_ok "golden $name" "$(cat "$T/diff")"
		if [ -n "${ZIPC_GOLDEN_UPDATE:-}" ]; then
			cp "$T/norm" "$GOLDEN/$name"
		fi
	fi
}

# `zipc ls` against golden $1 (pids $2... masked) once the picture has
# settled: a sleeper that wakes to re-check (a POSIX semaphore waiter does,
# every 10 ms to 1 s) is briefly "counted" rather than identified, so the
# listing is polled, as until_stat polls, until it matches or 10 s pass.
golden_ls() {
	local name=$1 i me
	shift
	me=$(id -un)
	for ((i = 0; i < 1000; i++)); do
		"$ZIPC" ls | norm_pids "$@" | sed -e "s/\\b$me\\b/OWNER/g" \
			>"$T/norm"
		diff -q "$GOLDEN/$name" "$T/norm" >/dev/null && break
		sleep 0.01
	done
	golden "$name"
}

# Start a peer holding an object; sets PEER_PID once it said ready.
start_peer() {
	local f="$T/fifo.$#.$RANDOM"
	mkfifo "$f"
	"$PEER" "$@" >"$f" &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	local line=
	read -r line <"$f"
	rm -f "$f"
	[ "$line" = ready ] || { echo "# peer $* failed"; exit 1; }
}

# until_stat OBJECT REGEX: poll zipc stat until a line matches (<= 10 s).
until_stat() {
	local i
	for ((i = 0; i < 1000; i++)); do
		"$ZIPC" stat "$1" 2>/dev/null | grep -qE "$2" && return 0
		sleep 0.01
	done
	echo "# $1 never showed '$2'"
	return 1
}

# ls output with pids and times masked, whitespace squeezed.
norm_pids() {
	local sed_args=() i=0
	for p in "$@"; do
		i=$((i + 1))
		sed_args+=(-e "s/\\b$p\\b/P$i/g")
	done
	sed "${sed_args[@]}" | tr -s ' '
}

section_golden() {
	"$ZIPC" mk msg --key 0x1234 --mode 0640 >/dev/null
	"$ZIPC" mk sem --key 0x2345 --nsems 3 --value 2 >/dev/null
	"$ZIPC" mk shm --key 0x3456 --size 8192 --mode 0600 >/dev/null
	"$ZIPC" mk mq /jobs --maxmsg 4 --msgsize 128 --mode 0600
	"$ZIPC" mk psem /go --value 5 --mode 0600
	"$ZIPC" mk pshm /buf --size 100 --mode 0644
	printf 'one\ntwo\nthree\n' | "$ZIPC" send 0x1234 --type 7
	printf 'hi\n' | "$ZIPC" send /jobs --prio 3

	"$ZIPC" ls >"$T/out" 2>&1
	tr -s ' ' <"$T/out" >"$T/norm"
	golden ls.txt
	"$ZIPC" ls -q >"$T/out" 2>&1
	tr -s ' ' <"$T/out" >"$T/norm"
	golden ls-q.txt
	"$ZIPC" ls -s --posix >"$T/out" 2>&1
	tr -s ' ' <"$T/out" >"$T/norm"
	golden ls-s-posix.txt
	"$ZIPC" ls --xsi -m --json >"$T/norm" 2>&1
	golden ls-xsi-m.json

	# stat: everything but what depends on time, pids, the store's
	# path and the engines' geometry.
	for o in msg:0 0x2345 0x3456 /jobs /go /buf; do
		"$ZIPC" stat "$o" >"$T/out" 2>&1
		sed -E -e 's#^(file +).*#\1DIR#' \
			-e 's/^((msg|shm|sem)_[a-z]?time|sem_otime|sem_ctime|msg_lspid|msg_lrpid|shm_cpid|shm_lpid|layout_sig|hdr_size|file_size|file_bytes|generation|slots|notify|uid|gid|cuid|cgid)( +).*/\1\3X/' \
			-e 's/sempid [0-9]+/sempid X/' \
			"$T/out" >"$T/norm"
		golden "stat-${o//[:\/]/_}.txt"
	done

	"$ZIPC" limits >"$T/out" 2>&1
	# The limits are the machine's sysctls: keep names, units and use.
	awk '/^objects live in/ { print "objects live in DIR"; next }
	     { print $1, $NF }' "$T/out" >"$T/norm"
	golden limits.txt

	"$ZIPC" stat --layout >"$T/out" 2>&1 &&
		grep -qE '^  sh_state +16 +4$' "$T/out" &&
		grep -q '^  mq_qnum ' "$T/out" && grep -q '^  se_nsems ' "$T/out" &&
		grep -q '^  sm_att ' "$T/out" && ok "stat --layout" ||
		not_ok "stat --layout" "$(head -20 "$T/out")"
	"$ZIPC" stat --layout msg:0 >"$T/out" 2>&1 &&
		grep -q '^struct zipc_mq_ctl' "$T/out" &&
		! grep -q '^struct zipc_shm_ctl' "$T/out" &&
		ok "stat --layout OBJECT" || not_ok "stat --layout OBJECT"
	"$ZIPC" ls --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d) == 6' &&
		ok "ls --json parses" || not_ok "ls --json parses"

	check "rm by key and name" 0 '' -- \
		"$ZIPC" rm 0x1234 0x2345 0x3456 /jobs /go /buf
	[ "$("$ZIPC" ls | wc -l)" -eq 1 ] && ok "ls empty after rm" ||
		not_ok "ls empty after rm" "$("$ZIPC" ls)"
}

section_verbs() {
	local q id out
	"$ZIPC" mk mq /q
	out=$(printf 'a\nb\n' | "$ZIPC" send /q && "$ZIPC" recv /q --count 2)
	[ "$out" = $'a\nb' ] && ok "send | recv POSIX lines" ||
		not_ok "send | recv POSIX lines" "got '$out'"
	printf 'low\n' | "$ZIPC" send /q --prio 1
	printf 'high\n' | "$ZIPC" send /q --prio 9
	out=$("$ZIPC" recv /q --all)
	[ "$out" = $'high\nlow' ] && ok "priorities, highest first" ||
		not_ok "priorities" "got '$out'"
	printf 'x\ny\n' | "$ZIPC" send /q --whole
	out=$("$ZIPC" recv /q --raw | od -c | head -1)
	[ "$out" = "0000000   x  \n   y  \n" ] && ok "--whole is one message" ||
		not_ok "--whole is one message" "got '$out'"

	id=$("$ZIPC" mk msg --key 0x77)
	seq 1 100 | "$ZIPC" send 0x77 --type 2
	printf 'typed\n' | "$ZIPC" send "msg:$id" --type 5
	out=$("$ZIPC" recv 0x77 --type 5)
	[ "$out" = typed ] && ok "recv --type picks by mtype" ||
		not_ok "recv --type" "got '$out'"
	out=$("$ZIPC" recv 0x77 --all | awk '{ s += $1 } END { print NR, s }')
	[ "$out" = "100 5050" ] && ok "100 lines through an XSI queue" ||
		not_ok "100 lines through an XSI queue" "got '$out'"
	# A pipeline across two zipc processes: recv blocks until send.
	"$ZIPC" recv 0x77 --count 3 --timeout 20 >"$T/pipe.out" &
	local rp=$!
	printf '1\n2\n3\n' | "$ZIPC" send 0x77
	wait "$rp"
	[ "$(cat "$T/pipe.out")" = $'1\n2\n3' ] &&
		ok "blocked recv gets what a later send sends" ||
		not_ok "blocked recv" "$(cat "$T/pipe.out")"

	"$ZIPC" mk psem /s
	"$ZIPC" wait /s --timeout 20 &
	local wp=$!
	until_stat /s '^waiters +1$'
	"$ZIPC" post /s
	wait "$wp" && ok "post wakes a waiting zipc wait (POSIX)" ||
		not_ok "post wakes wait (POSIX)"
	id=$("$ZIPC" mk sem --nsems 2)
	"$ZIPC" post "sem:$id" --num 1 --count 3
	"$ZIPC" wait "sem:$id" --num 1 && "$ZIPC" wait "sem:$id" --num 1 &&
		"$ZIPC" stat "sem:$id" | grep -q '^sem\[1\] .*semval 1 ' &&
		ok "post --count 3, wait twice (XSI)" || not_ok "XSI post/wait"
	# A signal ends a sleeping verb cleanly: it leaves no dead sleeper.
	"$ZIPC" wait "sem:$id" 2>"$T/term.err" &
	wp=$!
	until_stat "sem:$id" "^user +$wp waiting alive"
	kill -TERM "$wp"
	wait "$wp"
	local st=$?
	[ "$st" -eq 143 ] && grep -q 'interrupted' "$T/term.err" &&
		"$ZIPC" stat "sem:$id" | grep -qE '^users +none$' &&
		ok "SIGTERM ends zipc wait, which leaves the set clean" ||
		not_ok "SIGTERM zipc wait" "status $st" "$(cat "$T/term.err")" \
			"$("$ZIPC" stat "sem:$id")"
	"$ZIPC" recv /q 2>"$T/term.err" &
	wp=$!
	until_stat /q '^recv_waiters +1$'
	kill -TERM "$wp"
	wait "$wp"
	st=$?
	[ "$st" -eq 143 ] && "$ZIPC" stat /q | grep -qE '^recv_waiters +0$' &&
		ok "SIGTERM ends zipc recv, uncounted" ||
		not_ok "SIGTERM zipc recv" "status $st" "$(cat "$T/term.err")"
	check "wait on 0 with --timeout 0 fails" 1 'timed out' -- \
		"$ZIPC" wait "sem:$id" --timeout 0
	check "recv on empty with --timeout 0.01 fails" 1 'timed out' -- \
		"$ZIPC" recv /q --timeout 0.01
	"$ZIPC" rm /q 0x77 /s "sem:$id"
	[ "$("$ZIPC" ls | wc -l)" -eq 1 ] && ok "nothing left" ||
		not_ok "nothing left" "$("$ZIPC" ls)"
}

section_stale() {
	local a b c d e g i pa pb pc pf pd pe ph out
	a=$("$ZIPC" mk shm --size 4096)
	b=$("$ZIPC" mk shm --size 4096)
	c=$("$ZIPC" mk sem)
	d=$("$ZIPC" mk sem)
	e=$("$ZIPC" mk msg)
	g=$("$ZIPC" mk msg)
	i=$("$ZIPC" mk shm --size 4096)
	"$ZIPC" mk mq /f
	"$ZIPC" mk psem /h
	printf 'kept\n' | "$ZIPC" send "msg:$g"

	start_peer attach "$a"; pa=$PEER_PID	# stays alive
	start_peer attach "$b"; pb=$PEER_PID	# killed
	start_peer undo "$c"; pc=$PEER_PID	# killed with SEM_UNDO held
	start_peer mq /f; pf=$PEER_PID		# stays alive
	start_peer attach "$i"; local pi=$PEER_PID # removed while held
	"$ZIPC" wait "sem:$d" & pd=$!; PIDS+=("$pd")
	"$ZIPC" recv "msg:$e" & pe=$!; PIDS+=("$pe")
	"$ZIPC" wait /h & ph=$!; PIDS+=("$ph")
	until_stat "sem:$d" "^user +$pd waiting alive" || return
	# Counted, then seen asleep on the queue's or semaphore's futex word.
	until_stat "msg:$e" "^user +$pe waiting alive" || return
	until_stat /h "^user +$ph waiting alive" || return
	"$ZIPC" rm "shm:$i"

	golden_ls stale-before.txt "$pa" "$pb" "$pc" "$pf" "$pi" "$pd" "$pe" \
		"$ph"

	kill -9 "$pb" "$pc" "$pd" "$pe" "$ph"
	wait "$pb" "$pc" "$pd" "$pe" "$ph" 2>/dev/null
	"$ZIPC" ls >"$T/out"
	norm_pids "$pa" "$pb" "$pc" "$pf" "$pi" "$pd" "$pe" "$ph" \
		<"$T/out" >"$T/norm"
	golden stale-killed.txt

	"$ZIPC" ls --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s:%s" % (o["kind"], o.get("id", o.get("name")))
                      for o in d if o["stale"])))' >"$T/stale.json"
	# Someone who cannot see root's processes cannot tell a killed
	# sleeper from a sleeping one: only recorded deaths count for them.
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	if "${nobody[@]}" true 2>/dev/null; then
		out=$("${nobody[@]}" "$ZIPC" rm --stale -n | tr '\n' ' ')
		[ "$out" = "would remove sem $c would remove sem $d would remove shm $b " ] &&
			ok "rm --stale as nobody: recorded deaths only" ||
			not_ok "rm --stale as nobody" "got: $out"
	fi
	"$ZIPC" rm --stale --dry-run >"$T/out"
	"$ZIPC" rm --stale >"$T/out2"
	sed 's/^would remove/removed/' "$T/out" | diff - "$T/out2" >/dev/null &&
		ok "rm --stale removes what --dry-run said" ||
		not_ok "rm --stale vs --dry-run" "$(cat "$T/out" "$T/out2")"
	out=$(tr '\n' ' ' <"$T/out2")
	want="removed msg $e removed sem $c removed sem $d removed shm $b removed psem /h "
	[ "$out" = "$want" ] && ok "rm --stale removed exactly the stale set" ||
		not_ok "rm --stale set" "got:  $out" "want: $want"
	[ "$(cat "$T/stale.json")" = "msg:$e psem:/h sem:$c sem:$d shm:$b" ] &&
		ok "ls --json flags the same set stale" ||
		not_ok "json stale set" "$(cat "$T/stale.json")"

	"$ZIPC" ls >"$T/out"
	norm_pids "$pa" "$pb" "$pc" "$pf" "$pi" <"$T/out" >"$T/norm"
	golden stale-after.txt
	check "a second rm --stale finds nothing" 0 '' -- "$ZIPC" rm --stale
	[ ! -s "$T/out" ] || true

	# An unlinked queue that a live process still has open.
	"$ZIPC" rm /f
	"$ZIPC" ls --posix >"$T/out"
	grep -qE "^mq +- +/f .* $pf +- +removed$" "$T/out" &&
		ok "an unlinked queue still open shows as removed, with its user" ||
		not_ok "unlinked queue" "$(cat "$T/out")"
	"$ZIPC" rm --stale >"$T/out2"
	[ ! -s "$T/out2" ] && ok "... and rm --stale leaves it" ||
		not_ok "rm --stale took a held object" "$(cat "$T/out2")"
	kill -9 "$pf"; wait "$pf" 2>/dev/null
	"$ZIPC" ls --posix | grep -q '/f' &&
		not_ok "unlinked queue gone with its last user" ||
		ok "unlinked queue gone with its last user"

	# The removed segment goes with its last (killed) attacher.
	kill -9 "$pi"; wait "$pi" 2>/dev/null
	"$ZIPC" ls -m --xsi | grep -qE "^shm +$i " &&
		not_ok "removed segment destroyed after its holder died" ||
		ok "removed segment destroyed after its holder died"
}

section_bad() {
	"$ZIPC" mk msg --key 0x10 >/dev/null
	"$ZIPC" mk sem --key 0x11 >/dev/null	# id 0 too: "0" is ambiguous
	"$ZIPC" mk mq /m --maxmsg 2 --msgsize 8
	"$ZIPC" mk psem /p
	local long
	long=/$(printf 'x%.0s' {1..300})

	check "no command" 2 'no command' -- "$ZIPC"
	check "unknown command" 2 "unknown command 'frob'" -- "$ZIPC" frob
	check "ls: unknown option" 2 "unknown option or missing value: '-x'" -- \
		"$ZIPC" ls -x
	check "ls: bad long option" 2 "unknown option .*'--bogus'" -- \
		"$ZIPC" ls --bogus
	check "ls: stray argument" 2 "unexpected argument" -- "$ZIPC" ls foo
	check "stat: no object" 2 'which object' -- "$ZIPC" stat
	check "stat: two objects" 2 'one object' -- "$ZIPC" stat 1 2
	check "stat: unknown id" 1 "no object '999'" -- "$ZIPC" stat 999
	check "stat: unknown key" 1 "no object '0x99'" -- "$ZIPC" stat 0x99
	check "stat: unknown name" 1 "no object '/nope'" -- "$ZIPC" stat /nope
	check "stat: garbage" 2 'not an object' -- "$ZIPC" stat abc
	check "stat: negative id" 2 'not an object' -- "$ZIPC" stat -- -5
	check "stat: id too big" 2 'expected a number' -- \
		"$ZIPC" stat 99999999999
	check "stat: bad key" 2 'expected a number' -- "$ZIPC" stat 0xzz
	check "stat: key 0" 2 'IPC_PRIVATE' -- "$ZIPC" stat 0x0
	check "stat: name with /" 2 "POSIX name" -- "$ZIPC" stat /a/b
	check "stat: bare /" 2 "POSIX name" -- "$ZIPC" stat /
	check "stat: name too long" 2 'name too long' -- "$ZIPC" stat "$long"
	check "stat: unknown kind" 2 "unknown kind 'foo'" -- "$ZIPC" stat foo:1
	check "stat: kind/name mismatch" 2 'named by' -- "$ZIPC" stat msg:/x
	check "stat: ambiguous id" 2 'ambiguous \(msg, sem\)' -- "$ZIPC" stat 0
	check "stat: ambiguous name" 2 'ambiguous' -- sh -c \
		"'$ZIPC' mk psem /m && '$ZIPC' stat /m"
	"$ZIPC" rm psem:/m
	check "rm: nothing named" 2 'which objects' -- "$ZIPC" rm
	check "rm: --stale with objects" 2 'takes no objects' -- \
		"$ZIPC" rm --stale 0x10
	check "rm: --dry-run alone" 2 'goes with --stale' -- \
		"$ZIPC" rm -n 0x10
	check "rm: one unknown of two" 1 "no object '0x99'.*nothing removed" \
		-- "$ZIPC" rm 0x10 0x99
	check "rm: ... left the first in place" 0 '' -- "$ZIPC" stat 0x10
	check "rm: ambiguous left everything" 2 'ambiguous' -- \
		"$ZIPC" rm 0x10 0
	check "rm: ... left the first in place too" 0 '' -- "$ZIPC" stat 0x10

	check "rm -Q: bad key" 2 "-Q: expected a number" -- "$ZIPC" rm -Q zz
	check "rm -S: key 0" 2 "IPC_PRIVATE" -- "$ZIPC" rm -S 0
	check "rm -M: no such segment" 1 "no object 'shm:0x00000010'" -- \
		"$ZIPC" rm -M 0x10
	check "rm: --stale and --all" 2 'not both' -- "$ZIPC" rm --stale --all
	check "rm: --all with an object" 2 'all takes no objects' -- \
		"$ZIPC" rm --all 0x10
	check "rm --all -n lists, removes nothing" 0 '' -- "$ZIPC" rm --all -n -q
	[ "$(cat "$T/out")" = $'would remove msg 0\nwould remove mq /m' ] &&
		ok "... the queues" || not_ok "rm --all -n -q" "$(cat "$T/out")"

	# Permission refused: root's objects, nobody tries.
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	if "${nobody[@]}" true 2>/dev/null; then
		check "rm: not the owner (XSI)" 1 \
			'cannot remove msg 0: Operation not permitted' -- \
			"${nobody[@]}" "$ZIPC" rm 0x10
		check "rm: not the owner (POSIX)" 1 \
			'cannot remove mq /m: (Operation not permitted|Permission denied)' \
			-- "${nobody[@]}" "$ZIPC" rm /m
		check "rm: ... both still there" 0 '' -- \
			sh -c "'$ZIPC' stat 0x10 >/dev/null && '$ZIPC' stat /m >/dev/null"
		check "send: no write permission" 1 'send: /m: Permission denied' \
			-- sh -c "echo x | ${nobody[*]} '$ZIPC' send /m"
		check "mk msg --qbytes over msgmnb as nobody" 1 \
			'qbytes 999999: Operation not permitted' -- \
			"${nobody[@]}" "$ZIPC" mk msg --qbytes 999999
		check "... left no queue behind" 0 '' -- sh -c \
			"[ \$('$ZIPC' ls -q --xsi | wc -l) -eq 2 ]"
	else
		echo "# skipping permission checks: setpriv cannot drop to nobody"
	fi

	check "send: no queue" 2 'which object' -- "$ZIPC" send
	check "send: two queues" 2 'unexpected argument' -- "$ZIPC" send /m /p
	check "send: not a queue" 1 "no queue '/p'" -- "$ZIPC" send /p
	check "send: --type on POSIX" 2 'type is for XSI' -- \
		"$ZIPC" send /m --type 2
	check "send: --prio on XSI" 2 'prio is for POSIX' -- \
		"$ZIPC" send 0x10 --prio 2
	check "send: --type 0" 2 'expected a number' -- \
		"$ZIPC" send 0x10 --type 0
	check "send: --prio too big" 2 'expected a number' -- \
		"$ZIPC" send /m --prio 40000
	check "send: bad timeout" 2 'expected seconds' -- \
		"$ZIPC" send /m --timeout soon
	check "send: negative timeout" 2 'expected seconds' -- \
		"$ZIPC" send /m --timeout -1
	check "send: missing option value" 2 "missing value: '--timeout'" -- \
		"$ZIPC" send /m --timeout
	check "send: option of another verb" 2 "option '--count' is not for"  \
		-- "$ZIPC" send /m --count 2
	check "send: line too long" 1 'line 2 is 9 bytes, longer .*1 sent' -- \
		sh -c "printf 'ok\n123456789\nnot\n' | '$ZIPC' send /m"
	check "send: --whole too long" 1 'input of 12 bytes' -- \
		sh -c "printf 'abcdefghijk\n' | '$ZIPC' send /m --whole"
	check "... the queue holds only the first line" 0 '' -- sh -c \
		"[ \"\$('$ZIPC' recv /m --all)\" = ok ]"
	check "send: full queue, --timeout 0" 1 'queue full, timed out; 2 sent' \
		-- sh -c "printf '1\n2\n3\n' | '$ZIPC' send /m --timeout 0"
	"$ZIPC" recv /m --all >/dev/null
	check "recv: --count 0" 2 'expected a number' -- \
		"$ZIPC" recv /m --count 0
	check "recv: --count junk" 2 'expected a number' -- \
		"$ZIPC" recv /m --count 2x
	check "recv: --type on POSIX" 2 'type is for XSI' -- \
		"$ZIPC" recv /m --type 1
	check "recv: empty, --timeout 0" 1 'timed out after 0 of 1' -- \
		"$ZIPC" recv /m --timeout 0
	check "recv: no such queue" 1 "no queue '0x99'" -- "$ZIPC" recv 0x99
	check "post: no such semaphore" 1 "no semaphore '/nope'" -- \
		"$ZIPC" post /nope
	check "post: a queue is not a semaphore" 1 "no semaphore '0x10'" -- \
		"$ZIPC" post 0x10
	check "post: --num past the set" 2 'has 1 semaphores; no --num 5' -- \
		"$ZIPC" post 0x11 --num 5
	check "post: --num on POSIX" 2 'num is for XSI' -- \
		"$ZIPC" post /p --num 0
	check "post: --timeout is wait's" 2 "'--timeout' is not for" -- \
		"$ZIPC" post /p --timeout 1
	check "post: past SEMVMX" 1 'would pass its maximum' -- \
		sh -c "'$ZIPC' post 0x11 --count 32767 && '$ZIPC' post 0x11"
	check "wait: --count is post's" 2 "'--count' is not for" -- \
		"$ZIPC" wait /p --count 1
	check "wait: zero, --timeout 0" 1 'wait: /p: timed out' -- \
		"$ZIPC" wait /p --timeout 0
	check "mk: no kind" 2 'what kind' -- "$ZIPC" mk
	check "mk: unknown kind" 2 "unknown kind 'queue'" -- "$ZIPC" mk queue
	check "mk shm: no size" 2 'size is required' -- "$ZIPC" mk shm
	check "mk pshm: no size" 2 'size is required' -- "$ZIPC" mk pshm /z
	check "mk mq: no name" 2 'which /name' -- "$ZIPC" mk mq
	check "mk mq: not a name" 2 'not a POSIX name' -- "$ZIPC" mk mq q
	check "mk mq: name too long" 2 'name too long' -- "$ZIPC" mk mq "$long"
	check "mk mq: maxmsg alone" 2 'both --maxmsg and --msgsize' -- \
		"$ZIPC" mk mq /z --maxmsg 4
	check "mk mq: over the hard limit" 1 'mk mq: Invalid argument' -- \
		"$ZIPC" mk mq /z --maxmsg 100000 --msgsize 8
	check "mk mq: exists" 1 '/m already exists' -- "$ZIPC" mk mq /m
	check "mk msg: key exists" 1 'that key already exists' -- \
		"$ZIPC" mk msg --key 0x10
	check "mk msg: key 0" 2 'IPC_PRIVATE' -- "$ZIPC" mk msg --key 0
	check "mk msg: bad mode" 2 'octal mode' -- "$ZIPC" mk msg --mode 999
	check "mk msg: option of another kind" 2 "option '--nsems' is not for"  \
		-- "$ZIPC" mk msg --nsems 2
	check "mk sem: --nsems 0" 2 'expected a number' -- \
		"$ZIPC" mk sem --nsems 0
	check "mk sem: --value past SEMVMX" 2 'expected a number' -- \
		"$ZIPC" mk sem --value 40000
	check "mk psem: extra argument" 2 'unexpected argument' -- \
		"$ZIPC" mk psem /z extra
	check "ls: a long option of another command" 2 \
		"option '--stale' is not for this command" -- "$ZIPC" ls --stale
	check "post: a short option of another verb" 2 \
		"option '-T' is not for this command" -- "$ZIPC" post /p -T 1
	check "send: stdin unreadable (--whole)" 1 'reading stdin: Is a directory' \
		-- sh -c "'$ZIPC' send /m --whole < /"
	check "send: stdin unreadable (lines)" 1 \
		'reading stdin: Is a directory; 0 sent' -- sh -c "'$ZIPC' send /m < /"
	check "recv: stdout full" 1 'writing stdout' -- sh -c \
		"echo x | '$ZIPC' send /m && '$ZIPC' recv /m > /dev/full"
	check "mk shm: too large" 1 'mk shm: ' -- \
		"$ZIPC" mk shm --size 9223372036854775807
	check "mk pshm: --size 0" 2 'size: expected a number' -- \
		"$ZIPC" mk pshm /z --size 0
	cp "$ZIPC" "$T/zipc-alone"
	check "bench: zipc-bench nowhere" 1 'zipc-bench not found' -- \
		env PATH=/nonexistent "$T/zipc-alone" bench --quick
	check "limits: stray argument" 2 'unexpected argument' -- \
		"$ZIPC" limits now
	check "bench: bad option" 2 "unknown or incomplete option '--frob'" -- \
		"$ZIPC" bench --frob
	check "bench: not found" 1 'ZIPC_BENCH=/nonexistent' -- \
		env ZIPC_BENCH=/nonexistent "$ZIPC" bench --quick
	# Nothing the bad inputs did may have left an object behind.
	out=$("$ZIPC" ls | tail -n +2 | awk '{ print $1, $3 }' | tr '\n' ' ')
	[ "$out" = "msg 0x00000010 sem 0x00000011 mq /m psem /p " ] &&
		ok "bad input made and removed nothing" ||
		not_ok "bad input changed objects" "$out"
	check "rm -Q KEY -S KEY, as ipcrm" 0 '' -- "$ZIPC" rm -Q 0x10 -S 0x11
	check "rm --all --posix" 0 '' -- "$ZIPC" rm --all --posix
	[ "$(cat "$T/out")" = $'removed mq /m\nremoved psem /p' ] &&
		ok "... said what it removed" || not_ok "rm --all" "$(cat "$T/out")"

	# Hostile bytes: a queue with a bad magic, a semaphore with a
	# scribbled body. ls and stat say so; rm --stale leaves them; rm
	# removes them (only for their owner or root).
	local id
	id=$("$ZIPC" mk msg)
	"$ZIPC" mk psem /c
	printf XXXX | dd of="$ZIPC_DIR/zipc.msg.$id" conv=notrunc 2>/dev/null
	dd if=/dev/zero of="$ZIPC_DIR/zipc.posix-sem/c" bs=1 seek=64 count=8 \
		conv=notrunc 2>/dev/null
	"$ZIPC" ls >"$T/out"
	grep -qE "^msg +$id .* EBADMSG$" "$T/out" &&
		grep -qE '^psem +- +/c .* EBADMSG$' "$T/out" &&
		ok "ls flags corrupt objects" ||
		not_ok "ls flags corrupt objects" "$(cat "$T/out")"
	check "stat of a corrupt object" 0 '' -- "$ZIPC" stat "msg:$id"
	grep -qE '^error +Bad message$' "$T/out" &&
		ok "... says what is wrong" || not_ok "stat corrupt" "$(cat "$T/out")"
	check "rm --stale leaves corrupt objects" 0 '' -- "$ZIPC" rm --stale
	if "${nobody[@]}" true 2>/dev/null; then
		check "rm: a corrupt object not ours" 1 \
			"cannot remove msg $id: Operation not permitted" -- \
			"${nobody[@]}" "$ZIPC" rm "msg:$id"
	fi
	# A header that agrees with a file too short for its control block.
	local sid
	sid=$("$ZIPC" mk shm --size 100000)
	truncate -s 128 "$ZIPC_DIR/zipc.shm.$sid"
	printf '\x80\0\0\0\0\0\0\0' |
		dd of="$ZIPC_DIR/zipc.shm.$sid" bs=1 seek=24 conv=notrunc 2>/dev/null
	check "ls with a truncated segment" 0 '' -- "$ZIPC" ls -m
	grep -qE "^shm +$sid .* EBADMSG$" "$T/out" &&
		ok "... shows it as EBADMSG" || not_ok "truncated" "$(cat "$T/out")"
	check "rm removes corrupt objects" 0 '' -- \
		"$ZIPC" rm "msg:$id" /c "shm:$sid"
	out=$("$ZIPC" ls | wc -l)
	[ "$out" -eq 1 ] && ok "... all of them" || not_ok "corrupt rm" "$("$ZIPC" ls)"
}

case $SECTION in
golden) section_golden ;;
verbs) section_verbs ;;
stale) section_stale ;;
bad) section_bad ;;
*) echo "unknown section $SECTION"; exit 2 ;;
esac
finish
