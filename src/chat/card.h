/*
 * card.h - SillyTavern character cards (Character Card V2, "chara_card_v2"
 * spec_version "2.0"; V1 cards are read too): a card's JSON, or a PNG
 * carrying it base64-encoded in a "chara" text chunk, becomes a bot's
 * name, persona and greeting, and a bot becomes a V2 card. Called by the
 * bot service's import and export. Pure: no I/O, no globals; it never
 * trusts the bytes it is given (fuzzed by tests/fuzz/fuzz_card.c).
 */
#ifndef PARLEY_CARD_H
#define PARLEY_CARD_H
#include <jansson.h>
#include <stddef.h>

struct problem;

/*
 * Reads a card: the V2 JSON (also accept a V1 card: top-level
 * name/description/... without "data"), or a PNG carrying it
 * base64-encoded in a tEXt chunk with keyword "chara". Returns a new JSON
 * object {"name","persona","greeting"} (all strings) or NULL with p set
 * (status 422 for content problems, 413 when too large; detail starting
 * with the field or "card:" e.g. "card: not a PNG or JSON", "card: PNG
 * chunk CRC mismatch", "card: no chara text chunk", "card: bad base64",
 * "name: required").
 */
json_t	*card_read(const void *data, size_t len, struct problem *p);
/*
 * Writes a bot (a JSON object with "name","persona","greeting") as a V2
 * card: {"spec":"chara_card_v2","spec_version":"2.0","data":{"name",
 * "description":persona,"personality":"","scenario":"","first_mes":greeting,
 * "mes_example":"","creator_notes":"Exported from Parley","system_prompt":"",
 * "post_history_instructions":"","alternate_greetings":[],"tags":[],
 * "creator":"","character_version":"","extensions":{}}}. New reference.
 */
json_t	*card_write(json_t *bot);

#endif
