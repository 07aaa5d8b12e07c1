/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the zipc command's argument parsing and object specs. The
 * input is split into arguments (at NUL or newline bytes); its first byte
 * picks the command. The command runs in this process, so libFuzzer sees
 * its coverage; it leaves through exit() on every error, as a command
 * should, which the zipc_cli_exit hook turns into a longjmp back here.
 * What such an exit leaves allocated is by design, so the command's own
 * allocations are not leak-checked here (__lsan_disable; the CLI tests
 * check the real binary's); ASan and UBSan still see every bad access. The
 * store is private and holds one object of each kind for specs to find.
 *
 * Commands that would block or cost without bound are left out (bench
 * execs, mk may reserve any size); recv, wait and send get "--timeout 0"
 * appended and read stdin from /dev/null.
 *
 * The tools' sources are compiled into this file (fuzz/meson.build links
 * each target with libzipc and fuzzutil.c only).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/zipc.c"
#include "../tools/cmd_obj.c"
#include "../tools/verbs.c"
#include "../tools/bench_cmd.c"
#include "../tools/spec.c"
#include "../tools/util.c"
#include "../tools/kind_shm.c"
#include "../tools/kind_msg.c"
#include "../tools/kind_sem.c"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* LeakSanitizer's switches, when it is linked in (weak: absent without). */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static jmp_buf back;

static void
fuzz_exit(int code)
{
	longjmp(back, code + 1);
}

#define MAX_ARGS 24

/* One of each, with keys and names the corpus uses (again after an
 * input removed them). */
static void
setup(void)
{
	zipc_queue *q;
	zipc_sema_t *s;
	int fd;

	fuzz_store("cli");
	zipc_queue_get(0x10, IPC_CREAT | 0600);
	zipc_semset_get(0x11, 2, IPC_CREAT | 0600);
	zipc_segment_get(0x12, 4096, IPC_CREAT | 0600);
	if (zipc_queue_open("/q", O_RDWR | O_CREAT, 0600, NULL, &q) == 0)
		zipc_queue_close(q);
	if (zipc_sema_open("/s", O_CREAT, 0600, 1, &s) == 0)
		zipc_sema_close(s);
	fd = zipc_segment_open("/m", O_RDWR | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
}

static const char *const commands[] = {
	"ls", "stat", "rm", "limits", "send", "recv", "post", "wait",
	"help", "--version", "nonsense",
};
#define NCMD (sizeof(commands) / sizeof(commands[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 4], *buf;
	int argc = 0;
	size_t i, start;

	setup();
	if (size < 1)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	argv[argc++] = "zipc";
	argv[argc++] = (char *)commands[data[0] % NCMD];
	for (i = 0, start = 0; i < size && argc < MAX_ARGS; i++) {
		if (i == size - 1 || buf[i] == 0 || buf[i] == '\n') {
			buf[i] = 0;
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	if (!strcmp(argv[1], "recv") || !strcmp(argv[1], "wait") ||
	    !strcmp(argv[1], "send")) {
		argv[argc++] = "--timeout";
		argv[argc++] = "0";
	}
	argv[argc] = NULL;

	/* Quiet: the command's output goes to /dev/null. */
	fflush(stdout);
	fflush(stderr);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int out = dup(1), err = dup(2);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	zipc_cli_exit = fuzz_exit;
	optind = 0; /* getopt starts afresh */
	if (__lsan_disable)
		__lsan_disable();
	if (setjmp(back) == 0)
		zipc_cli_main(argc, argv);
	if (__lsan_enable)
		__lsan_enable();
	fflush(stdout);
	fflush(stderr);
	if (out >= 0) {
		dup2(out, 1);
		close(out);
	}
	if (err >= 0) {
		dup2(err, 2);
		close(err);
	}
	if (null >= 0)
		close(null);
	free(buf);
	return 0;
}
