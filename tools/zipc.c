/* SPDX-License-Identifier: MIT */
/*
 * zipc: see, manage and measure zipc's IPC objects, as ipcs, ipcrm and
 * lsipc do for the kernel's. This file only dispatches; each command lives
 * in cmd_obj.c (ls stat rm limits), verbs.c (send recv post wait mk) or
 * bench_cmd.c, and each object kind in one kind_*.c table entry.
 *
 * Exit status, as util-linux: 0 success, 1 failure, 2 usage. Every
 * message is one line on stderr that names the problem. main() is in
 * main.c so that the fuzz target (fuzz/fuzz_cli.c) can call the rest.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "zipc.h"
#include "cli.h"

const char *prog = "zipc";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{"ls", cmd_ls,
	 "list objects: zipc ls [-q] [-s] [-m] [--posix] "
	 "[--xsi] [--json]"},
	{"stat", cmd_stat,
	 "everything about one object: zipc stat OBJECT "
	 "[--layout]"},
	{"rm", cmd_rm,
	 "remove objects: zipc rm OBJECT... | zipc rm --stale "
	 "[-n]"},
	{"limits", cmd_limits, "the limits and what is used: zipc limits"},
	{"send", cmd_send,
	 "stdin to messages: zipc send QUEUE [--whole] "
	 "[--type N|--prio N] [--timeout S]"},
	{"recv", cmd_recv,
	 "messages to stdout: zipc recv QUEUE [--count N|"
	 "--all] [--timeout S] [--raw]"},
	{"post", cmd_post, "zipc post SEMAPHORE [--num I] [--count N]"},
	{"wait", cmd_wait, "zipc wait SEMAPHORE [--num I] [--timeout S]"},
	{"mk", cmd_mk,
	 "make an object: zipc mk KIND [/NAME] [options] "
	 "(zipc mk --help)"},
	{"bench", cmd_bench,
	 "zipc's IPC beside the kernel's: zipc bench "
	 "[--quick] [--csv F] [--svg F] [--png F]"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: zipc COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-7s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nOBJECT is an XSI id (5), an XSI key (0x1234), or a "
		   "POSIX /name,\noptionally prefixed by its kind (msg: sem: "
		   "shm: mq: psem: pshm:).\nObjects live in $ZIPC_DIR "
		   "(default /dev/shm). See zipc(1).\n");
}

int
zipc_cli_main(int argc, char **argv)
{
	opterr = 0; /* every message is ours, one line */
	if (argc < 2)
		die(EXIT_USAGE, "no command (try 'zipc help')");
	const char *c = argv[1];
	if (!strcmp(c, "help") || !strcmp(c, "--help") || !strcmp(c, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(c, "--version")) {
		printf("zipc %s\n", zipc_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(c, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	die(EXIT_USAGE, "unknown command '%s' (try 'zipc help')", c);
}
