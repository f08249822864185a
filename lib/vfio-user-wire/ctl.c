/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The provider control socket format. See ctl.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

bool vfu_ctl_valid_id(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.:-", id[i]))
			return false;
	return true;
}

/* a canonical lower-case UUID: 8-4-4-4-12 digits of [0-9a-f] */
static bool valid_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[36] == '\0';
}

const char *const vfu_ctl_knob_names[VFU_CTL_KNOBS] = {
	"time_slice_us", "preempt_timeout_us", "priority",
	"weight",	 "frame_rate_limit",
};

static bool valid_attr_key(const char *k)
{
	size_t n = strlen(k);

	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && !strchr("_.-/", k[i]))
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decode @in into @out (VFU_CTL_MAX_VALUE + 1 bytes) */
static int decode_value(const char *in, char *out)
{
	size_t n = 0;

	for (; *in; in++) {
		int c = (unsigned char)*in;

		if (c == '%') {
			int h = hexval(in[1]), l = h < 0 ? -1 : hexval(in[2]);

			if (l < 0)
				return -EINVAL;
			c = h << 4 | l;
			in += 2;
		}
		if (c < 0x20 || c == 0x7f || n == VFU_CTL_MAX_VALUE)
			return -EINVAL;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int vfu_ctl_append_attr(char *buf, size_t size, const char *key,
			const char *value)
{
	size_t len = strlen(buf), vlen = strlen(value);

	if (!valid_attr_key(key) || vlen > VFU_CTL_MAX_VALUE)
		return -EINVAL;
	if (len + strlen(key) + 2 >= size)
		return -ENOSPC;
	len += (size_t)snprintf(buf + len, size - len, " %s=", key);
	for (const char *v = value; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (len + 4 >= size)
			return -ENOSPC;
		if (c == '%' || c == ' ' || c > 0x7e)
			len += (size_t)snprintf(buf + len, size - len, "%%%02X",
						c);
		else
			buf[len++] = (char)c;
	}
	buf[len] = '\0';
	return 0;
}

static int parse_knob(const char *w)
{
	for (unsigned int k = 0; k < VFU_CTL_KNOBS; k++)
		if (!strcmp(w, vfu_ctl_knob_names[k]))
			return (int)k;
	return -EINVAL;
}

/* a decimal u64 without sign or leading zeros */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 20)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' ||
		    v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* KEY=VALUE words of a create request */
static int parse_attrs(char **word, unsigned int n, struct vfu_ctl_req *out)
{
	if (n > VFU_CTL_MAX_ATTRS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		char *eq = strchr(word[i], '=');

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		if (!valid_attr_key(word[i]) ||
		    decode_value(eq + 1, out->attr_value[i]) < 0)
			return -EINVAL;
		strcpy(out->attr_key[i], word[i]);
	}
	out->n_attrs = n;
	return 0;
}

int vfu_ctl_parse_request(const char *line, size_t len, struct vfu_ctl_req *out)
{
	char buf[VFU_CTL_MAX_REQ], *word[3 + VFU_CTL_MAX_ATTRS], *save = NULL;
	unsigned int n = 0;
	int k;

	if (len == 0 || len >= sizeof(buf) || memchr(line, '\0', len))
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = '\0';
	/* single spaces only: no empty words */
	if (buf[0] == ' ' || buf[len - 1] == ' ' || strstr(buf, "  "))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)buf[i]) && buf[i] != ' ')
			return -EINVAL;
	for (char *w = strtok_r(buf, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		if (n == sizeof(word) / sizeof(word[0]))
			return -EINVAL;
		word[n++] = w;
	}
	memset(out, 0, sizeof(*out));
	if (n == 1 && !strcmp(word[0], "types")) {
		out->op = VFU_CTL_TYPES;
	} else if (n == 1 && !strcmp(word[0], "list")) {
		out->op = VFU_CTL_LIST;
	} else if (n >= 3 && !strcmp(word[0], "create") &&
		   vfu_ctl_valid_id(word[1]) && valid_uuid(word[2])) {
		out->op = VFU_CTL_CREATE;
		strcpy(out->type, word[1]);
		strcpy(out->uuid, word[2]);
		if (parse_attrs(word + 3, n - 3, out) < 0)
			return -EINVAL;
	} else if (n == 2 &&
		   (!strcmp(word[0], "remove") ||
		    !strcmp(word[0], "remove-force")) &&
		   valid_uuid(word[1])) {
		out->op = word[0][6] ? VFU_CTL_REMOVE_FORCE : VFU_CTL_REMOVE;
		strcpy(out->uuid, word[1]);
	} else if (n == 2 && !strcmp(word[0], "display") &&
		   valid_uuid(word[1])) {
		out->op = VFU_CTL_DISPLAY;
		strcpy(out->uuid, word[1]);
	} else if (n == 2 && !strcmp(word[0], "usage") && valid_uuid(word[1])) {
		out->op = VFU_CTL_USAGE;
		strcpy(out->uuid, word[1]);
	} else if (n == 3 && !strcmp(word[0], "qos-get") &&
		   valid_uuid(word[1]) && (k = parse_knob(word[2])) >= 0) {
		out->op = VFU_CTL_QOS_GET;
		strcpy(out->uuid, word[1]);
		out->knob = (unsigned int)k;
	} else if (n == 4 && !strcmp(word[0], "qos-set") &&
		   valid_uuid(word[1]) && (k = parse_knob(word[2])) >= 0 &&
		   parse_u64(word[3], &out->value) == 0) {
		out->op = VFU_CTL_QOS_SET;
		strcpy(out->uuid, word[1]);
		out->knob = (unsigned int)k;
	} else {
		return -EINVAL;
	}
	return 0;
}

int vfu_ctl_parse_plane(const char *line, struct vfu_ctl_plane *out)
{
	uint64_t v[7];
	const char *p = line;

	for (int i = 0; i < 7; i++) {
		char *end;

		if (*p < '0' || *p > '9' ||
		    (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
			return -EBADMSG;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno || end == p)
			return -EBADMSG;
		if (*end != (i < 6 ? '\t' : '\0'))
			return -EBADMSG;
		p = end + 1;
	}
	if (v[1] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX ||
	    v[4] > UINT32_MAX)
		return -EBADMSG;
	*out = (struct vfu_ctl_plane){ .seq = v[0],
				       .fmt = (uint32_t)v[1],
				       .w = (uint32_t)v[2],
				       .h = (uint32_t)v[3],
				       .stride = (uint32_t)v[4],
				       .offset = v[5],
				       .size = v[6] };
	/* a plane that is on must fit its memory, at a byte per pixel at
	 * least; one that is off has no geometry */
	if (!out->fmt)
		return out->w || out->h || out->stride || out->offset ? -EBADMSG
								      : 0;
	if (!out->w || !out->h || out->stride < out->w ||
	    (uint64_t)out->stride * out->h > out->size ||
	    out->offset > out->size - (uint64_t)out->stride * out->h)
		return -EBADMSG;
	return 0;
}

void vfu_ctl_clean(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void vfu_ctl_reply_free(struct vfu_ctl_reply *r)
{
	free(r->buf);
	free(r->fields);
	memset(r, 0, sizeof(*r));
}

/* a decimal number without sign or leading zeros, <= max */
static int parse_count(const char *s, size_t max, size_t *out)
{
	size_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > max / 10)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int vfu_ctl_parse_reply(char *buf, size_t len, unsigned int n_fields,
			struct vfu_ctl_reply *ret)
{
	char *p = buf, *end = buf + len, *nl;
	size_t n, k = 0;

	memset(ret, 0, sizeof(*ret));
	ret->buf = buf;
	ret->n_fields = n_fields;
	if (!n_fields || n_fields > VFU_CTL_MAX_FIELDS || !len ||
	    buf[len - 1] != '\n' || memchr(buf, '\0', len))
		goto bad;
	nl = memchr(p, '\n', len);
	*nl = '\0';
	if (!strncmp(p, "err ", 4)) {
		size_t e;

		if (nl + 1 != end || parse_count(p + 4, 4095, &e) < 0 || !e)
			goto bad;
		vfu_ctl_reply_free(ret);
		return -(int)e;
	}
	if (strncmp(p, "ok ", 3) ||
	    parse_count(p + 3, len / (2 * n_fields), &n) < 0)
		goto bad;
	ret->fields = calloc(n ? n * n_fields : 1, sizeof(char *));
	if (!ret->fields) {
		vfu_ctl_reply_free(ret);
		return -ENOMEM;
	}
	p = nl + 1;
	for (size_t rec = 0; rec < n; rec++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			goto bad;
		*nl = '\0';
		for (unsigned int f = 0; f < n_fields; f++) {
			char *tab = strchr(p, '\t');

			if ((f + 1 < n_fields) != (tab != NULL))
				goto bad;
			if (tab)
				*tab = '\0';
			if (!*p)
				goto bad;
			for (char *c = p; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					goto bad;
			ret->fields[k++] = p;
			p = tab ? tab + 1 : nl + 1;
		}
	}
	if (p != end)
		goto bad;
	ret->n_records = n;
	return 0;
bad:
	vfu_ctl_reply_free(ret);
	return -EBADMSG;
}

/* milliseconds left until @deadline (CLOCK_MONOTONIC, ms), at least 0 */
static int ms_left(long long deadline)
{
	struct timespec ts;
	long long now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	return now >= deadline ? 0 : (int)(deadline - now);
}

/* wait for @events on @fd until @deadline: 0, -ETIMEDOUT, -errno */
static int wait_for(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, ms_left(deadline));

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int vfu_ctl_call(const char *path, const char *request, unsigned int n_fields,
		 int timeout_ms, struct vfu_ctl_reply *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 4096, rlen = strlen(request), sent = 0;
	char line[VFU_CTL_MAX_REQ], *buf = NULL;
	struct timespec ts;
	long long deadline;
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	if (strlen(path) >= sizeof(sa.sun_path) ||
	    rlen + 1 >= VFU_CTL_MAX_REQ || timeout_ms <= 0)
		return -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + timeout_ms;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a provider that stopped accepting fills its backlog: EAGAIN */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto out;
	}
	memcpy(line, request, rlen);
	line[rlen++] = '\n';
	while (sent < rlen) {
		ssize_t n = send(fd, line + sent, rlen - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			r = wait_for(fd, POLLOUT, deadline);
			if (r < 0)
				goto out;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* closed before reading the request: like a close
			 * without a reply (a peer it refuses) */
			r = n < 0 ? (errno == EPIPE ? -ECONNRESET : -errno)
				  : -EIO;
			goto out;
		}
		sent += (size_t)n;
	}
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= VFU_CTL_MAX_REPLY) {
				r = -EBADMSG;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EAGAIN) {
			r = wait_for(fd, POLLIN, deadline);
			if (r < 0)
				goto out;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno; /* ECONNRESET: closed, request unread */
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == 0) {
		/* closed without a word: refused, or it died answering */
		r = -ECONNRESET;
		goto out;
	}
	r = vfu_ctl_parse_reply(buf, len, n_fields, ret);
	buf = NULL; /* taken over */
out:
	free(buf);
	close(fd);
	return r;
}
