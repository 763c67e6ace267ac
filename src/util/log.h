/*
 * log.h - leveled logging to stderr. log_set_level() (and with several
 * nodes log_set_node()) once at start-up; everything else just logs. Never
 * logs secrets: callers pass no API keys.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

int	 log_level_parse(const char *name, enum log_level *out);
void	 log_set_level(enum log_level level);
/* Every line names the node after its level (several nodes share one log). */
void	 log_set_node(const char *node);
void	 log_msg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
