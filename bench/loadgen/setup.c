/*
 * setup.c - --setup (main.c calls do_setup): creates the chats of a Parley
 * run over one blocking keep-alive connection, with a bot of --bot-backend
 * in each when it is given, and writes their ids to --chat-ids-file.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One request on a blocking keep-alive connection; returns the status. */
static int
http_call(int *fd, const char *method, const char *path, const char *body, char *out, size_t outsz)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (*fd < 0)
			*fd = tcp_connect_blocking(O.port);
		char req[8192];
		int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    method, path, O.host, O.port, O.headers, strlen(body), body);
		if (send(*fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			close(*fd);
			*fd = -1;
			continue;
		}
		size_t got = 0;
		int status = 0;
		bool close_after = false;
		size_t total = 0;
		int rc = 0;
		while (rc == 0) {
			ssize_t r = read(*fd, out + got, outsz - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			out[got] = 0;
			rc = http_response_complete(out, got, &status, &close_after, &total);
			if (got == outsz - 1)
				break;
		}
		if (rc != 1) {
			close(*fd);
			*fd = -1;
			if (got == 0)
				continue;	/* a stale keep-alive connection */
			die("%s %s: bad response", method, path);
		}
		out[total] = 0;
		if (close_after) {
			close(*fd);
			*fd = -1;
		}
		return status;
	}
	die("%s %s: no response", method, path);
}

/* The "id" of the object in a response's body. */
static void
json_id(const char *resp, char *id, size_t idsz)
{
	const char *b = strstr(resp, "\r\n\r\n");
	b = b ? b + 4 : resp;
	size_t l;
	const char *v = json_str(b, strlen(b), "\"id\"", &l);
	if (v == NULL || l == 0 || l >= idsz)
		die("no id in response: %.200s", b);
	memcpy(id, v, l);
	id[l] = 0;
}

void
do_setup(void)
{
	if (O.chat_ids_file == NULL)
		die("--setup needs --chat-ids-file");
	int fd = -1;
	static char resp[1 << 16];
	char bot[64] = "";
	if (O.bot_backend != NULL) {
		char body[256];
		snprintf(body, sizeof body, "{\"name\":\"Bench\",\"backend\":\"%s\"}", O.bot_backend);
		int st = http_call(&fd, "POST", "/api/v1/bots", body, resp, sizeof resp);
		if (st != 201)
			die("POST /api/v1/bots: HTTP %d: %.300s", st, resp);
		json_id(resp, bot, sizeof bot);
	}
	FILE *f = fopen(O.chat_ids_file, "w");
	if (f == NULL)
		die("%s: %s", O.chat_ids_file, strerror(errno));
	for (int i = 0; i < O.chats; i++) {
		char body[256];
		if (bot[0])
			snprintf(body, sizeof body,
			    "{\"title\":\"bench %d\",\"bots\":[\"%s\"],\"policy\":\"round-robin\"}", i, bot);
		else
			snprintf(body, sizeof body, "{\"title\":\"bench %d\"}", i);
		int st = http_call(&fd, "POST", "/api/v1/chats", body, resp, sizeof resp);
		if (st != 201)
			die("POST /api/v1/chats: HTTP %d: %.300s", st, resp);
		char id[64];
		json_id(resp, id, sizeof id);
		fprintf(f, "%s\n", id);
	}
	if (fclose(f) != 0)
		die("%s: %s", O.chat_ids_file, strerror(errno));
	if (fd >= 0)
		close(fd);
}
