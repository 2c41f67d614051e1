// SPDX-License-Identifier: GPL-2.0
/*
 * Hook commands (on_flag, on_ban, on_unban): the operator's glue to a
 * ticket system, a mail to the user, a captive portal.
 *
 * Each runs as `/bin/sh -c COMMAND` with the evidence in SMTPGATE_*
 * environment variables, stdin on /dev/null and the daemon's stdout and
 * stderr (the journal, under systemd).  The daemon never waits for one: it
 * forks and goes on, reaps hooks when SIGCHLD says so, and kills the whole
 * process group of a hook still running after hook_timeout.  A hook that
 * fails, hangs or cannot start is logged (action=hook ... status=...);
 * nothing else depends on it.  At most HOOKS_MAX run at once: past that,
 * hooks are skipped and logged, so a flood of events cannot fork-bomb the
 * gateway.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/wait.h>

#include "smtpgated.h"

extern char **environ;

void hook_env_init(struct hook_env *e)
{
	e->n = 0;
}

void hook_env_add(struct hook_env *e, const char *key, const char *fmt, ...)
{
	char val[512], *s;
	va_list ap;
	size_t n;

	if (e->n == ARRAY_SIZE(e->v))
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	n = strlen(key) + strlen(val) + 2;
	s = malloc(n);
	if (!s)
		return;
	snprintf(s, n, "%s=%s", key, val);
	e->v[e->n++] = s;
}

void hook_env_free(struct hook_env *e)
{
	while (e->n)
		free(e->v[--e->n]);
}

/* The evidence, then the daemon's environment minus any SMTPGATE_* of its
 * own, so a hook never sees a stale or doubled variable. */
static char **build_env(const struct hook_env *env)
{
	size_t n = 0, i, k = 0;
	char **v;

	while (environ && environ[n])
		n++;
	v = calloc(n + env->n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < env->n; i++)
		v[k++] = env->v[i];
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SMTPGATE_", 9))
			v[k++] = environ[i];
	return v;
}

/* In the child: a clean slate, then the shell.  Only async-signal-safe
 * calls between fork and exec. */
static void __attribute__((noreturn)) child(const char *cmd, char **envp)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int fd, sig;

	setpgid(0, 0);
	/*
	 * Not one of the daemon's descriptors: a hook holding the state lock
	 * would stop a restarted daemon, one holding the netlink sockets
	 * would keep their buffers.
	 */
	if (close_range(3, ~0U, 0))
		for (fd = 3; fd < 1024; fd++)
			close(fd);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd > 0) {
		dup2(fd, 0);
		close(fd);
	}
	execve("/bin/sh", (char *[]){ "sh", "-c", (char *)cmd, NULL }, envp);
	_exit(127);
}

static void log_hook(const struct hook_proc *p, int prio, const char *status)
{
	struct kv kv;

	kv_init(&kv);
	kv_str(&kv, "action", "hook");
	kv_str(&kv, "hook", p->name);
	kv_str(&kv, "host", p->host);
	kv_str(&kv, "status", status);
	log_kv(prio, &kv);
}

int hooks_run(struct hooks *h, const char *name, const char *cmd,
	      const char *host, const struct hook_env *env,
	      uint32_t timeout, int64_t now_ms)
{
	struct hook_proc *p;
	char **envp;
	pid_t pid;

	if (!cmd || !*cmd)
		return 0;
	if (h->n == HOOKS_MAX) {
		struct hook_proc skipped = { 0 };

		/* The first is logged; the rest are counted until a slot frees. */
		h->failures++;
		if (h->skipped++)
			return -EAGAIN;
		snprintf(skipped.name, sizeof(skipped.name), "%s", name);
		snprintf(skipped.host, sizeof(skipped.host), "%s", host);
		log_hook(&skipped, LOG_WARNING, "skipped:too-many-running");
		return -EAGAIN;
	}
	p = &h->procs[h->n];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->host, sizeof(p->host), "%s", host);
	envp = build_env(env);
	if (!envp) {
		h->failures++;
		log_hook(p, LOG_ERR, "not-started:out-of-memory");
		return -ENOMEM;
	}
	pid = fork();
	if (pid == 0)
		child(cmd, envp);
	free(envp);
	if (pid < 0) {
		int err = errno;

		h->failures++;
		log_hook(p, LOG_ERR, "not-started:fork-failed");
		return -err;
	}
	/* Also in the parent: no window where a kill(-pid) misses it. */
	setpgid(pid, pid);
	p->pid = pid;
	p->deadline = now_ms + (int64_t)timeout * 1000;
	h->n++;
	h->runs++;
	return 0;
}

static void finished(struct hooks *h, size_t i, int status)
{
	struct hook_proc *p = &h->procs[i];
	char buf[48];

	if (p->killed) {
		h->failures++;
		log_hook(p, LOG_WARNING, "timeout:killed");
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		h->failures++;
		snprintf(buf, sizeof(buf), "exit:%d", WEXITSTATUS(status));
		log_hook(p, LOG_WARNING, buf);
	} else if (WIFSIGNALED(status)) {
		h->failures++;
		snprintf(buf, sizeof(buf), "signal:%d", WTERMSIG(status));
		log_hook(p, LOG_WARNING, buf);
	} else {
		log_hook(p, LOG_DEBUG, "ok");
	}
	h->procs[i] = h->procs[--h->n];
	if (h->skipped > 1)
		log_msg(LOG_WARNING, "action=hook status=skipped:too-many-running count=%llu",
			(unsigned long long)h->skipped);
	h->skipped = 0;
}

void hooks_tick(struct hooks *h, int64_t now_ms)
{
	size_t i;
	int status;
	pid_t pid;

	for (i = 0; i < h->n;) {
		pid = waitpid(h->procs[i].pid, &status, WNOHANG);
		if (pid == h->procs[i].pid ||
		    (pid < 0 && errno == ECHILD)) {
			finished(h, i, pid < 0 ? 0 : status);
			continue;	/* slot i holds another one now */
		}
		if (!h->procs[i].killed && now_ms >= h->procs[i].deadline) {
			/* The group: sh -c leaves its children behind. */
			kill(-h->procs[i].pid, SIGKILL);
			h->procs[i].killed = true;
		}
		i++;
	}
}

int64_t hooks_next_deadline(const struct hooks *h)
{
	int64_t next = -1;
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!h->procs[i].killed &&
		    (next < 0 || h->procs[i].deadline < next))
			next = h->procs[i].deadline;
	/* Killed ones still need reaping: SIGCHLD will say when. */
	return next;
}
