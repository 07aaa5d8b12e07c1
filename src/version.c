/* SPDX-License-Identifier: MIT */
/* The runtime version, so a program can tell which libzipc it loaded. */
#include "internal.h"
#include "zipc.h"

ZIPC_API const char *
zipc_version(void)
{
	return "0.1.0";
}
