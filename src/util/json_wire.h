/*
 * json_wire.h - how Parley writes JSON everywhere (responses, events, the
 * event log, model requests): compact, reals as written (0.7, not
 * 0.69999999999999996), any value allowed at the top.
 */
#ifndef PARLEY_JSON_WIRE_H
#define PARLEY_JSON_WIRE_H
#include <jansson.h>

#define JSON_WIRE (JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)

#endif
