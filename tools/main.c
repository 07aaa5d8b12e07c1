/* SPDX-License-Identifier: MIT */
/* The zipc command's main: everything else is in zipc.c and the rest. */
#include "cli.h"

int
main(int argc, char **argv)
{
	return zipc_cli_main(argc, argv);
}
