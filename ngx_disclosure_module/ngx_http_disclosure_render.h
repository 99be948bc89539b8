
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_RENDER_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_RENDER_H_INCLUDED_


/*
 * Transitional, to be deleted at the merge of issue 15: what this header
 * declared now has a header per file.  _listener.c still includes it for
 * ngx_http_disclosure_get() (ngx_http_disclosure_doc.h).  Include the
 * header of the file you call instead.
 */

#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_out.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_csv.h"
#include "ngx_http_disclosure_json.h"
#include "ngx_http_disclosure_template.h"
#include "ngx_http_disclosure_trend.h"
#include "ngx_http_disclosure_compare.h"
#include "ngx_http_disclosure_rollup.h"


#endif /* _NGX_HTTP_DISCLOSURE_RENDER_H_INCLUDED_ */
