/* ctl_proto.c - strict parsing of request lines and formatting of response
 * lines (the protocol is described in ctl_server.h). */
#include "ctl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* The fields after the object itself is known good. */
static int parse_fields(struct ctl_parsed *out, size_t cmd_max, struct nr_err *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(out->root, key, v) {
        if (strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0 && strcmp(key, "id") != 0)
            return nr_errf(err, NR_EINVAL,
                           "request has an unknown field \"%.64s\"; the fields are cmd, args "
                           "and id",
                           key);
    }
    json_t *cmd = json_object_get(out->root, "cmd");
    if (cmd == NULL)
        return nr_errf(err, NR_EINVAL,
                       "request has no \"cmd\"; send {\"cmd\": \"endpoint status\"} and the like");
    if (!json_is_string(cmd))
        return nr_errf(err, NR_EINVAL, "request's \"cmd\" is %s; it must be a string",
                       json_kind(cmd));
    size_t cmd_len = json_string_length(cmd);
    if (cmd_len == 0 || cmd_len > cmd_max || strlen(json_string_value(cmd)) != cmd_len)
        return nr_errf(err, NR_EINVAL,
                       "request's \"cmd\" is %zu bytes; a command name has 1 to %zu bytes and "
                       "no NUL",
                       cmd_len, cmd_max);
    out->cmd = json_string_value(cmd);
    json_t *args = json_object_get(out->root, "args");
    if (args != NULL && !json_is_object(args))
        return nr_errf(err, NR_EINVAL, "request's \"args\" is %s; it must be an object",
                       json_kind(args));
    if (args == NULL) {
        args = json_object();
        if (args == NULL || json_object_set_new(out->root, "args", args) != 0)
            return nr_errf(err, NR_ENOMEM, "out of memory while parsing a request");
    }
    out->args = args;
    return 0;
}

int ctl_proto_parse(const char *line, size_t len, size_t cmd_max, struct ctl_parsed *out,
                    struct nr_err *err)
{
    json_error_t je;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return nr_errf(err, NR_EINVAL, "empty request line; send one JSON object per line");
    out->root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (out->root == NULL)
        return nr_errf(err, NR_EINVAL, "malformed request: %s (at byte %d of %zu)", je.text,
                       je.position, len);
    if (!json_is_object(out->root))
        return nr_errf(err, NR_EINVAL,
                       "request is %s; it must be a JSON object such as {\"cmd\": \"endpoint "
                       "status\"}",
                       json_kind(out->root));
    out->id = json_object_get(out->root, "id");
    return parse_fields(out, cmd_max, err);
}

/* Serialises obj (stolen) as one line with a newline. */
static char *dump_line(json_t *obj, size_t *len_out)
{
    char *s = NULL;

    if (obj != NULL)
        s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    /* json_dumps escapes control characters: one line, always. */
    char *line = realloc(s, len + 2);
    if (line == NULL) {
        free(s);
        return NULL;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    *len_out = len + 1;
    return line;
}

char *ctl_proto_format_ok(json_t *id, json_t *result, size_t *len_out)
{
    if (result == NULL)
        result = json_object();
    json_t *obj = json_object();
    if (obj == NULL || result == NULL) {
        json_decref(obj);
        json_decref(result);
        return NULL;
    }
    if (json_object_set_new(obj, "ok", json_true()) != 0 ||
        json_object_set(obj, "id", id != NULL ? id : json_null()) != 0 ||
        json_object_set_new(obj, "result", result) != 0) {
        json_decref(obj);
        return NULL;
    }
    return dump_line(obj, len_out);
}

char *ctl_proto_format_err(json_t *id, const struct nr_err *err, size_t *len_out)
{
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    /* The sentence is ours, but may quote bytes a client sent: jansson
     * refuses invalid UTF-8, so fall back to a generic sentence. */
    json_t *msg = json_string(err->msg);
    if (msg == NULL)
        msg = json_string("the error's sentence was not valid UTF-8");
    if (json_object_set_new(obj, "ok", json_false()) != 0 ||
        json_object_set(obj, "id", id != NULL ? id : json_null()) != 0 ||
        json_object_set_new(obj, "error", msg) != 0 ||
        json_object_set_new(obj, "code", json_string(nr_code_name(err->code))) != 0) {
        json_decref(obj);
        return NULL;
    }
    return dump_line(obj, len_out);
}

int ctl_proto_code_from_name(const char *name)
{
    for (int code = -1; code >= -64; code--) {
        const char *n = nr_code_name(code);
        if (strcmp(n, "NR_E?") == 0)
            break;
        if (strcmp(n, name) == 0)
            return code;
    }
    return NR_EIO;
}
