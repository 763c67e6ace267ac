/*
 * log.c - leveled logging to stderr with UTC timestamps; see log.h.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level threshold = LOG_INFO;
static char node_tag[72];	/* "NAME: ", or "" */
static const char *const names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *name, enum log_level *out)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	threshold = level;
}

void
log_set_node(const char *node)
{
	snprintf(node_tag, sizeof node_tag, "%.64s: ", node);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < threshold)
		return;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

	/* one write a line, so that lines from several threads do not mix */
	char line[1024];
	int n = snprintf(line, sizeof line, "%s %s %s", stamp, names[level], node_tag);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	line[len] = '\n';
	fwrite(line, 1, len + 1, stderr);
}
