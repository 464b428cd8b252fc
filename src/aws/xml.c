/*
 * xml.c - the little of libxml2 that AWS answers need (xml.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "aws/xml.h"

static xmlNode *
xml_child(xmlNode *n, const char *name)
{
	for (n = n ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* The text of child name of n, copied into out; "" when absent. */
const char *
xml_text(xmlNode *n, const char *name, char *out, size_t outlen)
{
	xmlNode *c = xml_child(n, name);
	xmlChar *t;

	out[0] = '\0';
	if (c == NULL)
		return out;
	t = xmlNodeGetContent(c);
	if (t != NULL) {
		snprintf(out, outlen, "%s", (const char *)t);
		xmlFree(t);
	}
	return out;
}

xmlDoc *
xml_parse(const struct buf *b)
{
	if (b->len == 0 || b->len > INT32_MAX)
		return NULL;
	return xmlReadMemory(b->data, (int)b->len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
}
