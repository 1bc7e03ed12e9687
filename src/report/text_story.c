/* \summary: the story section of the text report: dispatch by record type */
#include <string.h>

#include "report/text_story.h"

void
wt_text_story(FILE *out, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	if (!type)
		return;
	if (strcmp(type, "resolution") == 0)
		wt_text_resolution(out, rec);
	else if (strcmp(type, "mail") == 0)
		wt_text_mail(out, rec);
}
