/*
 * request.h - parsing a JSON request body: a JSON object, or a 400 problem
 * saying why not. Pure (jansson only); fuzzed by fuzz_json_body. Handlers
 * reach it through exchange_json() (exchange.h); form bodies are form.h's.
 */
#ifndef PARLEY_REQUEST_H
#define PARLEY_REQUEST_H
#include <jansson.h>
#include <stddef.h>

struct problem;

/*
 * data[0..len) as a JSON object (new reference): duplicate keys, NUL bytes,
 * malformed JSON and anything but an object are a 400 problem (NULL).
 */
json_t	*request_parse_json(const char *data, size_t len, struct problem *p);

#endif
