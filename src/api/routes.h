/*
 * routes.h - Parley's route table: every path and method the server answers
 * and the handler for each. Read by main() to start the server.
 */
#ifndef PARLEY_ROUTES_H
#define PARLEY_ROUTES_H

#include "http/server.h"

struct handlers;

/* The routes, served with h as every handler's context. */
struct server_routes routes_for(struct handlers *h);

#endif
