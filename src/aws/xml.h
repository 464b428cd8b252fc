/*
 * xml.h - small libxml2 helpers for AWS XML answers: S3's listings and
 * error bodies (store_s3.c, http.c).  Parsing never touches the network
 * and is bounded by the body's size (the request loop caps it).
 */
#ifndef SWREPART_XML_H
#define SWREPART_XML_H

#include <stddef.h>

#include <libxml/tree.h>

#include "base/util.h"

/* Parse a body; NULL when empty, too large or not XML. */
xmlDoc *xml_parse(const struct buf *b);
/* The text of child name of n copied into out ("" when absent). */
const char *xml_text(xmlNode *n, const char *name, char *out, size_t outlen);

#endif
