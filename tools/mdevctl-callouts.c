/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl's callout scripts, for the mdevctl personality (1.4's; 1.2's are
 * the same without the /usr/lib directories and without versioning).
 *
 * Scripts in <lib>/scripts.d/callouts (/usr/lib/mdevctl) and then in
 * <config>/scripts.d/callouts (/etc/mdevctl.d) are asked before and after
 * define, undefine, modify, start and stop ("-e pre" / "-e post"), and for
 * the attributes of a running device ("-e get -a attributes"); every script
 * in the notifiers directories hears "-e notify" afterwards. A script says
 * "not my device" with exit status 2. A script that answers "-e get -a
 * capabilities" with {"supports": {...}} is versioned: it is then the one
 * script for its parent and type, and only asked what it supports.
 * mdevctl waits for a script as long as it runs, and so do we: a timeout
 * would fail a slow script that mdevctl lets finish. See
 * docs/mdevctl-compat.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mdevctl-callouts.h"

/* what mdevctl 1.4 tells a script it understands (-e get -a capabilities) */
#define PROVIDES                                                               \
	"{\"provides\":{\"version\":2,\"actions\":[\"start\",\"stop\","        \
	"\"define\",\"undefine\",\"modify\",\"attributes\",\"capabilities\"]," \
	"\"events\":[\"pre\",\"post\",\"notify\",\"get\",\"live\"]}}"

/* the answer of a script that understood */
struct versioned {
	char *parent, *type;
	char *path;	       /* NULL: looked, none */
	json_object *supports; /* {"actions": [...], "events": [...]} */
	struct versioned *next;
};

static struct versioned *cache;

struct run {
	char *out, *err;
	size_t out_len, err_len;
	int status; /* exit status, or -1 killed by a signal */
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static int append(char **buf, size_t *len, const char *data, size_t n)
{
	char *p = realloc(*buf, *len + n + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p + *len, data, n);
	*len += n;
	p[*len] = '\0';
	*buf = p;
	return 0;
}

/* run @path with mdevctl's arguments, @in on its stdin; -errno when it
 * could not be started at all */
static int run_script(const char *path, const struct callout_dev *dev,
		      const char *event, const char *action, const char *state,
		      const char *in, struct run *res)
{
	const char *argv[] = { path,	  "-t",	  dev->type,   "-e",  event,
			       "-a",	  action, "-s",	       state, "-u",
			       dev->uuid, "-p",	  dev->parent, NULL };
	int pin[2], pout[2], perr[2], pexec[2], e = 0, st;
	size_t in_len = in ? strlen(in) : 0, in_off = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(pin, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
	    pipe2(pexec, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		/* mdevctl's scripts start with SIGPIPE at its default and no
		 * signal blocked, even when the caller (libvirtd) ignores it */
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(path, (char *const *)argv);
		e = errno;
		(void)!write(pexec[1], &e, sizeof(e));
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	close(pexec[1]);
	if (read(pexec[0], &e, sizeof(e)) == sizeof(e)) {
		/* not executable: mdevctl skips it */
		close(pexec[0]);
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		waitpid(pid, &st, 0);
		return -e;
	}
	close(pexec[0]);
	/* a script that stops reading must not kill us */
	sigaction(SIGPIPE, &ign, &old);
	if (!in_len) {
		close(pin[1]);
		pin[1] = -1;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = pin[1], .events = POLLOUT },
			{ .fd = pout[0], .events = POLLIN },
			{ .fd = perr[0], .events = POLLIN },
		};
		char buf[4096];
		ssize_t n;

		if (p[1].fd < 0 && p[2].fd < 0)
			break;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = write(pin[1], in + in_off, in_len - in_off);
			if (n > 0)
				in_off += (size_t)n;
			if (n < 0 || in_off == in_len) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		for (int i = 1; i < 3; i++) {
			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				if (i == 1)
					append(&res->out, &res->out_len, buf,
					       (size_t)n);
				else
					append(&res->err, &res->err_len, buf,
					       (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(p[i].fd);
				if (i == 1)
					pout[0] = -1;
				else
					perr[0] = -1;
			}
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (!res->out)
		append(&res->out, &res->out_len, "", 0);
	return 0;
}

/* mdevctl relays a script's stderr as "<script name>: <stderr>" */
static void relay_stderr(const char *path, const struct run *r)
{
	const char *name = strrchr(path, '/');

	if (r->err_len)
		fprintf(stderr, "%s: %s", name ? name + 1 : path, r->err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the entries of @dir as paths, sorted (NULL-terminated; NULL: no dir) */
static char **entries(const char *dir, bool sorted)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char **nv;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		if (asprintf(&v[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	if (!v)
		v = calloc(1, sizeof(*v));
	else
		v[n] = NULL;
	if (v && sorted)
		qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

static void entries_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* {"supports": {...}} in a script's answer (NUL padding allowed) */
static json_object *parse_supports(const struct run *r)
{
	json_object *j, *s = NULL;
	size_t len = r->out_len;

	while (len && r->out[len - 1] == '\0')
		len--;
	j = json_tokener_parse(r->out);
	if (!j)
		return NULL;
	if (json_object_object_get_ex(j, "supports", &s) &&
	    json_object_is_type(s, json_type_object))
		s = json_object_get(s);
	else
		s = NULL;
	json_object_put(j);
	return s;
}

static bool supports(json_object *sup, const char *key, const char *what)
{
	json_object *a;

	if (!json_object_object_get_ex(sup, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *s =
			json_object_get_string(json_object_array_get_idx(a, i));

		if (s && !strcmp(s, what))
			return true;
	}
	return false;
}

static struct versioned *find_versioned(const struct callout_env *env,
					const struct callout_dev *dev)
{
	const char *dirs[] = { env->lib_callouts, env->callouts };
	struct versioned *v;

	for (v = cache; v; v = v->next)
		if (!strcmp(v->parent, dev->parent) &&
		    !strcmp(v->type, dev->type))
			return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->parent = strdup(dev->parent);
	v->type = strdup(dev->type);
	for (size_t d = 0; d < 2 && !v->path; d++) {
		char **e;

		if (!dirs[d] || !is_dir(dirs[d]) ||
		    !(e = entries(dirs[d], true)))
			continue;
		for (size_t i = 0; e[i] && !v->path; i++) {
			struct run r;

			if (run_script(e[i], dev, "get", "capabilities", "none",
				       PROVIDES, &r) < 0)
				continue;
			if (r.status < 0)
				mdevctl_warn(
					"mdevctl::callouts",
					"callout script %s was terminated by a signal",
					mdevctl_quote_path(e[i]));
			if (r.status >= 0 && r.status != 2 &&
			    (v->supports = parse_supports(&r))) {
				relay_stderr(e[i], &r);
				v->path = strdup(e[i]);
			}
			run_free(&r);
		}
		entries_free(e);
	}
	v->next = cache;
	cache = v;
	return v;
}

/* the failure of a script, as mdevctl words it */
static int failed(const struct callout_env *env, char **why, const char *path,
		  int status)
{
	int r = env->v12
			? asprintf(
				  why,
				  "callout script %s failed with return code %d",
				  mdevctl_quote_path(path), status)
			: asprintf(why, "Script '%s' failed with status '%d'",
				   mdevctl_quote_path(path), status);

	if (r < 0)
		*why = NULL;
	return -EIO;
}

/* Rust's {:?} of an action or event: the variant's name */
static char *variant(const char *s)
{
	char *v = strdup(s);

	if (v && *v >= 'a' && *v <= 'z')
		*v = (char)(*v - 'a' + 'A');
	return v;
}

/* the stdin of a call: 1.2 hands the device to every event but get */
static const char *call_input(const struct callout *c, const char *event,
			      const char *in)
{
	return c->env->v12 && !strcmp(event, "get") ? NULL : in;
}

/* run the device's script (c->script) */
static int call_script(struct callout *c, const char *event, const char *action,
		       const char *in, char **out, char **why)
{
	struct run r;
	int ret = 0;

	if (c->versioned && !(supports(c->supports, "actions", action) &&
			      supports(c->supports, "events", event))) {
		bool has_action = supports(c->supports, "actions", action);
		char *v = variant(has_action ? event : action);

		if (asprintf(why, "Script %s does not support %s '%s'",
			     mdevctl_quote_path(c->script),
			     has_action ? "event" : "action", v ? v : "") < 0)
			*why = NULL;
		free(v);
		return -EOPNOTSUPP;
	}
	if (run_script(c->script, &c->dev, event, action, c->state,
		       call_input(c, event, in), &r) < 0)
		/* gone since it answered: 1.2 lets it pass */
		return c->env->v12 ? 0 : failed(c->env, why, c->script, -1);
	relay_stderr(c->script, &r);
	/* a signal is no failure here (mdevctl: no exit code, no error) */
	if (r.status > 0)
		ret = failed(c->env, why, c->script, r.status);
	else if (out)
		*out = strdup(r.out);
	run_free(&r);
	return ret;
}

/*
 * Ask the scripts in turn: the first that does not exit with 2 (and could
 * be run, and was not killed by a signal) answers, and is the device's
 * script from then on. 1.2 relays the stderr of a get call only when the
 * script failed, and words that failure its own way.
 */
static int call_first(struct callout *c, const char *event, const char *action,
		      const char *in, char **out, char **why)
{
	const char *dirs[] = { c->env->lib_callouts, c->env->callouts };
	bool get12 = c->env->v12 && !strcmp(event, "get");

	for (size_t d = 0; d < 2; d++) {
		char **e;

		if (!dirs[d] || !is_dir(dirs[d]) ||
		    !(e = entries(dirs[d], !c->env->v12)))
			continue;
		for (size_t i = 0; e[i]; i++) {
			struct run r;
			int ret = 0;

			if (run_script(e[i], &c->dev, event, action, c->state,
				       call_input(c, event, in), &r) < 0)
				continue;
			if (r.status < 0)
				mdevctl_warn(
					"mdevctl::callouts",
					"callout script %s was terminated by a signal",
					mdevctl_quote_path(e[i]));
			if (r.status == 2 || r.status < 0) {
				run_free(&r);
				continue;
			}
			if (!get12 || r.status != 0)
				relay_stderr(e[i], &r);
			free(c->script);
			c->script = strdup(e[i]);
			if (r.status == 0) {
				if (out)
					*out = strdup(r.out);
			} else if (get12) {
				if (asprintf(why,
					     "failed to get attributes from %s",
					     mdevctl_quote_path(e[i])) < 0)
					*why = NULL;
				ret = -EIO;
			} else {
				/* 1.4 keeps no script that failed */
				if (!c->env->v12) {
					free(c->script);
					c->script = NULL;
				}
				ret = failed(c->env, why, e[i], r.status);
			}
			run_free(&r);
			entries_free(e);
			return ret;
		}
		entries_free(e);
	}
	return 0;
}

int callout_call(struct callout *c, const char *event, const char *action,
		 const char *in, char **out, char **why)
{
	*why = NULL;
	if (out)
		*out = NULL;
	if (c->script)
		return call_script(c, event, action, in, out, why);
	return call_first(c, event, action, in, out, why);
}

/* the device's versioned script, if it has one */
static void use_versioned(struct callout *c)
{
	struct versioned *v =
		c->env->v12 ? NULL : find_versioned(c->env, &c->dev);

	free(c->script);
	c->script = NULL;
	c->supports = NULL;
	c->versioned = false;
	if (v && v->path) {
		c->script = strdup(v->path);
		c->supports = v->supports;
		c->versioned = true;
	}
}

int callout_get_attributes(struct callout *c, char **out, char **why)
{
	/* 1.4 looks the script up again; 1.2 asks with a fresh search */
	use_versioned(c);
	return callout_call(c, "get", "attributes", NULL, out, why);
}

void callout_init(struct callout *c, const struct callout_env *env,
		  const struct callout_dev *dev)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->dev = *dev;
	c->state = "none";
	use_versioned(c);
}

void callout_fini(struct callout *c)
{
	free(c->script);
	c->script = NULL;
}

void callout_notify(struct callout *c, const char *action, const char *in)
{
	const char *dirs[] = { c->env->lib_notifiers, c->env->notifiers };

	for (size_t d = 0; d < 2; d++) {
		char **e;

		if (!dirs[d] || !is_dir(dirs[d]) ||
		    !(e = entries(dirs[d], false)))
			continue;
		for (size_t i = 0; e[i]; i++) {
			struct run r;

			if (run_script(e[i], &c->dev, "notify", action,
				       c->state, c->env->v12 ? in : NULL,
				       &r) == 0)
				run_free(&r);
		}
		entries_free(e);
	}
}
