/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smtpgatectl: shared by the subcommand files.
 *
 * Every subcommand is int cmd_NAME(int argc, char **argv), argv[0] being
 * its name, and returns the exit status: 0 ok, 1 failure (EXIT_FAIL), 2
 * usage.  `banned` answers in its exit status, so for it a failure to
 * answer is 2, not 1: it sets ctl_exit_fail.
 */
#ifndef _SGCTL_H
#define _SGCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "sgnl.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define __maybe_unused	__attribute__((__unused__))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

extern int ctl_exit_fail;

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
void __attribute__((noreturn)) die_nomem(void);
void __attribute__((format(printf, 1, 2))) errmsg(const char *fmt, ...);
int __attribute__((format(printf, 2, 3)))
usage_error(const char *cmd, const char *fmt, ...);

/* The netlink handle, opened on first use; exits when it cannot be. */
struct sgnl *ctl_nl(void);
/* "smtpgatectl: CONTEXT: kernel: EXTACK" and ctl_exit_fail. */
int __attribute__((format(printf, 2, 3)))
nl_fail(struct sgnl *h, const char *fmt, ...);

/* ADDR[/LEN]; the error message says what is wrong.  Durations and
 * numbers: sg_duration_parse(), sg_parse_uint() (duration.h). */

/* Printers shared by listings, lookups and events. */
void host_print(const struct sgnl_host *h, bool detail);
void ban_print(const struct sgnl_ban *b, bool expired);
void instance_print(const struct sgnl_stats *st);
int cmp_prefix_ptr(const void *a, const void *b);

int cmd_hosts(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_bans(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_ban(int argc, char **argv);
int cmd_unban(int argc, char **argv);
int cmd_banned(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif /* _SGCTL_H */
