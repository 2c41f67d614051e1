/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SGCRAFT_H
#define _SGCRAFT_H

#include <stdio.h>

#define PROG_NAME "sgcraft"

/* Exit codes: like ipset test, a query answers in its exit code. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

int send_main(int argc, char *argv[]);
int sniff_main(int argc, char *argv[]);
void usage(FILE *f, const char *cmd);

#endif /* _SGCRAFT_H */
