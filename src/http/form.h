/*
 * form.h - an application/x-www-form-urlencoded body as fields: parsing
 * (refusing NUL bytes and values that are not UTF-8) and reading values as
 * JSON strings, so form handlers give the services what the JSON API gives.
 * Pure apart from using libevent's query parser; fuzzed (fuzz_form).
 */
#ifndef PARLEY_FORM_H
#define PARLEY_FORM_H
#include <jansson.h>
#include <stddef.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

struct problem;

struct form {
	struct evkeyvalq fields;
};

/* Parses body[0..len); 0, or -1 and a 400 problem (the form is then empty). */
int		 form_parse(struct form *f, const char *body, size_t len, struct problem *p);
void		 form_free(struct form *f);
/* The first value of the field, or NULL. */
const char	*form_get(const struct form *f, const char *name);
/* The field as a JSON string (new reference), or NULL when absent. */
json_t		*form_string(const struct form *f, const char *name);
/*
 * The field as a JSON integer when it is a decimal number, else as the
 * string given (which the services refuse); NULL when absent or empty.
 */
json_t		*form_integer(const struct form *f, const char *name);
/* Every value of a repeated field (checkboxes), as a JSON array of strings. */
json_t		*form_strings(const struct form *f, const char *name);

#endif
