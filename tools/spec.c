/* SPDX-License-Identifier: MIT */
/*
 * Object specs on the command line, as ipcs/ipcrm take them and a little
 * more: an XSI id ("32768"), an XSI key ("0x1234abcd"), or a POSIX name
 * ("/jobs"), each optionally prefixed by its kind ("msg:0", "psem:/go")
 * and narrowed by the filters -q -s -m --posix --xsi. A spec that could
 * name objects of two kinds is refused, never guessed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct zkind *const zkinds[] = {
	&zkind_msg,  &zkind_sem,  &zkind_shm, &zkind_mq,
	&zkind_psem, &zkind_pshm, NULL,
};

int
filter_kind(const struct zfilter *f, const struct zkind *k)
{
	if ((f->q || f->s || f->m) &&
	    !((f->q && k->filter == 'q') || (f->s && k->filter == 's') ||
	      (f->m && k->filter == 'm')))
		return 0;
	if ((f->posix || f->xsi) &&
	    !((f->posix && k->posix) || (f->xsi && !k->posix)))
		return 0;
	return 1;
}

struct match {
	enum { BY_ID, BY_KEY, BY_NAME } by;
	int id;
	int32_t key;
	const char *name;
	int n;
	struct zobj *out;
	const struct zkind *kinds[8];
};

static int
match_one(struct zobj *z, void *arg)
{
	struct match *m = arg;
	int hit = (m->by == BY_ID && z->id == m->id) ||
		  (m->by == BY_KEY && z->key == m->key && !z->removed) ||
		  (m->by == BY_NAME && !strcmp(z->name, m->name) &&
		   !z->removed); /* unlinked: the name is free */
	if (!hit)
		return 0;
	if (m->n < 8)
		m->kinds[m->n] = z->kind;
	if (m->n++ == 0)
		*m->out = *z;
	return 0;
}

int
spec_find(const char *spec, const struct zfilter *f, struct zobj *out)
{
	struct match m = {.out = out};
	const struct zkind *only = NULL;
	const char *rest = spec, *colon = strchr(spec, ':');

	if (colon && spec[0] != '/') {
		size_t len = (size_t)(colon - spec);
		for (int i = 0; zkinds[i]; i++)
			if (strlen(zkinds[i]->name) == len &&
			    !strncmp(zkinds[i]->name, spec, len))
				only = zkinds[i];
		if (!only)
			die(EXIT_USAGE,
			    "'%s': unknown kind '%.*s' (msg, sem, "
			    "shm, mq, psem or pshm)",
			    spec, (int)len, spec);
		rest = colon + 1;
	}
	if (rest[0] == '/') {
		const char *n = rest + 1;
		if (!*n || strchr(n, '/'))
			die(EXIT_USAGE,
			    "'%s': a POSIX name is one '/' and up "
			    "to %d bytes without '/'",
			    spec, NAME_MAX);
		if (strlen(n) > NAME_MAX)
			die(EXIT_USAGE,
			    "'%s': name too long (at most %d "
			    "bytes)",
			    spec, NAME_MAX);
		m.by = BY_NAME;
		m.name = rest;
	} else if (rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) {
		m.by = BY_KEY;
		m.key = parse_key("key", rest);
	} else if (isdigit((unsigned char)rest[0])) {
		m.by = BY_ID;
		m.id = (int)parse_ll("id", rest, 0, INT32_MAX);
	} else {
		die(EXIT_USAGE,
		    "'%s': not an object (give an id, a 0x key "
		    "or a /name)",
		    spec);
	}
	for (int i = 0; zkinds[i]; i++) {
		const struct zkind *k = zkinds[i];
		if ((only && k != only) || !filter_kind(f, k) ||
		    k->posix != (m.by == BY_NAME))
			continue;
		k->list(match_one, &m);
	}
	if (only && only->posix != (m.by == BY_NAME))
		die(EXIT_USAGE, "'%s': %s objects are named by %s", spec,
		    only->name, only->posix ? "/name" : "id or 0x key");
	if (m.n == 0)
		return -ENOENT;
	if (m.n > 1) {
		char kinds[64] = "";
		for (int i = 0; i < m.n && i < 8; i++) {
			strcat(kinds, i ? ", " : "");
			strcat(kinds, m.kinds[i]->name);
		}
		die(EXIT_USAGE,
		    "'%s' is ambiguous (%s): prefix it with its "
		    "kind, e.g. %s:%s",
		    spec, kinds, m.kinds[0]->name, rest);
	}
	return 0;
}
