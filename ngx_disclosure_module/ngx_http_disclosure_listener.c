
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * Invalidation: one listener per nginx instance, on a connection of its
 * own, non-blocking like the pool.
 *
 * Every worker runs a one-second tick.  The worker whose pid is in the
 * shared "listener" word holds the role; a worker finds the word empty
 * (the holder exited) or naming a process that is gone (it crashed) and
 * takes it with a compare-and-set.  A worker that shuts down (reload,
 * quit) gives the role up as soon as its idle connections are closed.
 *
 * The holder connects, sends LISTEN disclosure, then every
 * disclosure_cache_poll asks for disclosure_web.data_version().
 *
 * A notification is only a hint: NOTIFY needs no privilege, so any role
 * that can connect may send one, with any payload.  Its "data_version" is
 * read, and only to decide whether to look: a payload that is not a JSON
 * object with an integer data_version is ignored (logged escaped, a line
 * every few seconds at most), one not newer than the version known is
 * ignored.  A newer one makes the listener read what changed through
 * disclosure_web.changes(known version), the change log: each step names
 * a report and its agency's ancestors (what it changes is invalidated in
 * every zone, _stale.c: its entries, the lists, the roll-ups of the agency
 * and those above it), or the agencies (the pages that show names), or
 * nothing known (everything).  The known version moves only to what the database
 * answered.  Reads of the change log are at least CHECK_MIN apart: a
 * burst of hints, forged or real, costs one read, and one invalidation
 * of everything at most.
 *
 * A polled version newer than the known one means that something was
 * published without a notification reaching us (a read replica, where
 * LISTEN is refused, or a notification lost while we were disconnected):
 * the change log is read as for a notification.  A polled version older
 * than the known one (the database was restored) invalidates everything.
 * A lost connection is reopened with backoff, and the first poll after it
 * catches up.
 *
 * A hot standby refuses LISTEN; its polls also ask pg_is_in_recovery(),
 * and once it says the standby was promoted the same connection sends
 * LISTEN again: after a failover publications are notified, not only
 * polled.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <libpq-fe.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_pg.h"
#include "ngx_http_disclosure_conninfo.h"
#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_listener.h"
#include "ngx_http_disclosure_render.h"


#define NGX_HTTP_DISCLOSURE_SHARED_LAYOUT   3
#define NGX_HTTP_DISCLOSURE_SHARED_NAME     "ngx_http_disclosure_shared"

#define NGX_HTTP_DISCLOSURE_TICK            1000
#define NGX_HTTP_DISCLOSURE_BACKOFF_MIN     500
#define NGX_HTTP_DISCLOSURE_BACKOFF_MAX     10000

/* reads of the change log at least this far apart (ms) */
#define NGX_HTTP_DISCLOSURE_CHECK_MIN       100

/* a malformed notification is logged at most this often (s) */
#define NGX_HTTP_DISCLOSURE_WARN_EVERY      10

/* the bytes of a malformed payload shown in the log */
#define NGX_HTTP_DISCLOSURE_PAYLOAD_SHOWN   64

#define NGX_HTTP_DISCLOSURE_CHANNEL         "disclosure"
#define NGX_HTTP_DISCLOSURE_LISTEN_SQL                                         \
    "LISTEN " NGX_HTTP_DISCLOSURE_CHANNEL
#define NGX_HTTP_DISCLOSURE_VERSION_SQL                                        \
    "SELECT disclosure_web.data_version()"
#define NGX_HTTP_DISCLOSURE_STANDBY_SQL                                        \
    "SELECT disclosure_web.data_version(), pg_catalog.pg_is_in_recovery()"
#define NGX_HTTP_DISCLOSURE_CHANGES_SQL                                        \
    "SELECT data_version, agency, year, ancestors "                           \
    "FROM disclosure_web.changes($1)"

/* ancestors of a changed agency named to the cache; deeper: every roll-up */
#define NGX_HTTP_DISCLOSURE_LISTENER_DEPTH  32

/* ERRCODE_READ_ONLY_SQL_TRANSACTION: LISTEN refused during recovery */
#define NGX_HTTP_DISCLOSURE_RECOVERY_SQLSTATE  "25006"


typedef struct {
    ngx_http_disclosure_shared_t      *sh;
    ngx_slab_pool_t                   *shpool;
} ngx_http_disclosure_shared_ctx_t;


typedef enum {
    NGX_HTTP_DISCLOSURE_STEP_WAIT = 0,  /* no connection; timer: reconnect */
    NGX_HTTP_DISCLOSURE_STEP_CONNECTING,
    NGX_HTTP_DISCLOSURE_STEP_LISTEN,    /* LISTEN sent */
    NGX_HTTP_DISCLOSURE_STEP_IDLE,      /* timer: the next poll or check */
    NGX_HTTP_DISCLOSURE_STEP_POLL,      /* the version query sent */
    NGX_HTTP_DISCLOSURE_STEP_CHECK      /* the change log query sent */
} ngx_http_disclosure_step_e;


typedef struct {
    ngx_cycle_t                       *cycle;
    ngx_log_t                         *log;
    ngx_http_disclosure_main_conf_t   *conf;
    ngx_http_disclosure_shared_ctx_t  *shared;

    ngx_http_disclosure_pg_t           pg;
    ngx_event_t                        timer;      /* reconnect, or the
                                                      next poll or check */
    ngx_event_t                        tick;
    ngx_msec_t                         backoff;
    ngx_http_disclosure_step_e         step;
    int64_t                            version;    /* the poll's answer */

    ngx_msec_t                         checked;    /* the last check sent */
    ngx_uint_t                         source;     /* of the pending check */
    time_t                             warned;     /* the last malformed
                                                      notification logged */
    ngx_uint_t                         unwarned;   /* ignored since */

    unsigned                           role:1;
    unsigned                           listening:1;
    unsigned                           standby:1;  /* LISTEN refused in
                                                      recovery */
    unsigned                           recovery:1; /* the poll's answer */
    unsigned                           result:1;
    unsigned                           pending:1;  /* read the change log */
} ngx_http_disclosure_listener_t;


static ngx_int_t ngx_http_disclosure_listener_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_disclosure_listener_tick(ngx_event_t *ev);
static void ngx_http_disclosure_listener_publish(ngx_cycle_t *cycle,
    ngx_http_disclosure_shared_ctx_t *shared);
static ngx_uint_t ngx_http_disclosure_listener_gone(ngx_pid_t pid);
static ngx_uint_t ngx_http_disclosure_listener_take_role(
    ngx_http_disclosure_listener_t *l);
static void ngx_http_disclosure_listener_connect(
    ngx_http_disclosure_listener_t *l);
static void ngx_http_disclosure_listener_ready(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_listener_send(
    ngx_http_disclosure_listener_t *l, ngx_http_disclosure_step_e step);
static ngx_int_t ngx_http_disclosure_listener_result(
    ngx_http_disclosure_pg_t *pg, PGresult *res);
static void ngx_http_disclosure_listener_refused(
    ngx_http_disclosure_listener_t *l, PGresult *res);
static void ngx_http_disclosure_listener_done(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_listener_error(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t reason, const char *what);
static void ngx_http_disclosure_listener_timeout(ngx_event_t *ev);
static void ngx_http_disclosure_listener_lost(
    ngx_http_disclosure_listener_t *l, const char *what);
static void ngx_http_disclosure_listener_close(
    ngx_http_disclosure_listener_t *l);
static void ngx_http_disclosure_listener_stop(
    ngx_http_disclosure_listener_t *l);
static void ngx_http_disclosure_listener_set_state(
    ngx_http_disclosure_listener_t *l, ngx_uint_t state, ngx_pid_t backend);
static void ngx_http_disclosure_listener_notify(ngx_http_disclosure_pg_t *pg,
    PGnotify *n);
static void ngx_http_disclosure_listener_notification(
    ngx_http_disclosure_listener_t *l, const char *payload);
static void ngx_http_disclosure_listener_malformed(
    ngx_http_disclosure_listener_t *l, const char *payload);
static void ngx_http_disclosure_listener_hint(
    ngx_http_disclosure_listener_t *l, ngx_uint_t source);
static void ngx_http_disclosure_listener_idle(
    ngx_http_disclosure_listener_t *l);
static void ngx_http_disclosure_listener_changes(
    ngx_http_disclosure_listener_t *l, PGresult *res);
static void ngx_http_disclosure_listener_version(
    ngx_http_disclosure_listener_t *l);
static void ngx_http_disclosure_listener_ancestors(PGresult *res, int row,
    ngx_http_disclosure_change_t *ch, ngx_str_t *ancestors);
static ngx_uint_t ngx_http_disclosure_listener_invalidate(
    ngx_http_disclosure_listener_t *l, ngx_http_disclosure_change_t *ch);
static void ngx_http_disclosure_listener_record(
    ngx_http_disclosure_listener_t *l, ngx_uint_t source, ngx_str_t *agency,
    ngx_int_t year, int64_t version, ngx_uint_t entries);


static ngx_http_disclosure_listener_t  *ngx_http_disclosure_listener;


static const ngx_http_disclosure_pg_handlers_t
    ngx_http_disclosure_listener_pg = {
    ngx_http_disclosure_listener_ready,
    ngx_http_disclosure_listener_result,
    NULL,                                 /* no COPY */
    ngx_http_disclosure_listener_done,
    ngx_http_disclosure_listener_notify,
    ngx_http_disclosure_listener_error
};


ngx_int_t
ngx_http_disclosure_shared_add(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, NGX_HTTP_DISCLOSURE_SHARED_NAME);

    /* the smallest zone a slab pool takes */
    shm_zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                     &ngx_http_disclosure_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_disclosure_listener_init_zone;
    shm_zone->data = ngx_pcalloc(cf->pool,
                                 sizeof(ngx_http_disclosure_shared_ctx_t));

    if (shm_zone->data == NULL) {
        return NGX_ERROR;
    }

    dmcf->shared = shm_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_listener_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_disclosure_shared_ctx_t  *octx = data;

    ngx_http_disclosure_shared_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx && octx->sh->layout == NGX_HTTP_DISCLOSURE_SHARED_LAYOUT) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (octx == NULL && shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    /*
     * A zone left by another layout is still used by the old workers:
     * this one gets a structure of its own in it (the first version seen
     * then invalidates the kept cache zones, as at any start).
     */

    ctx->sh = ngx_slab_calloc(ctx->shpool,
                              sizeof(ngx_http_disclosure_shared_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->sh->layout = NGX_HTTP_DISCLOSURE_SHARED_LAYOUT;
    ctx->shpool->data = ctx->sh;

    return NGX_OK;
}


ngx_http_disclosure_shared_t *
ngx_http_disclosure_shared(ngx_http_disclosure_main_conf_t *dmcf)
{
    ngx_http_disclosure_shared_ctx_t  *ctx;

    if (dmcf->shared == NULL) {
        return NULL;
    }

    ctx = dmcf->shared->data;

    return ctx->sh;
}


ngx_int_t
ngx_http_disclosure_shared_snapshot(ngx_cycle_t *cycle,
    ngx_http_disclosure_shared_t *copy)
{
    ngx_http_disclosure_shared_ctx_t  *ctx;
    ngx_http_disclosure_main_conf_t   *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL || dmcf->shared == NULL) {
        return NGX_DECLINED;
    }

    ctx = dmcf->shared->data;

    ngx_http_disclosure_listener_publish(cycle, ctx);

    ngx_shmtx_lock(&ctx->shpool->mutex);
    ngx_memcpy(copy, ctx->sh, sizeof(ngx_http_disclosure_shared_t));
    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_disclosure_shared_query(ngx_http_disclosure_main_conf_t *dmcf,
    ngx_uint_t error)
{
    ngx_http_disclosure_shared_t  *sh;

    sh = ngx_http_disclosure_shared(dmcf);

    if (sh == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(error ? &sh->errors : &sh->queries, 1);
}


ngx_int_t
ngx_http_disclosure_listener_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_listener_t   *l;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL || dmcf->shared == NULL) {
        return NGX_OK;
    }

    l = ngx_pcalloc(cycle->pool, sizeof(ngx_http_disclosure_listener_t));
    if (l == NULL) {
        return NGX_ERROR;
    }

    l->cycle = cycle;
    l->log = cycle->log;
    l->conf = dmcf;
    l->shared = dmcf->shared->data;

    ngx_http_disclosure_pg_init(&l->pg, &ngx_http_disclosure_listener_pg, l,
                                cycle->log, &dmcf->conninfo_safe, "listener");

    /* neither holds an exiting worker */
    l->pg.timer.cancelable = 1;

    l->timer.handler = ngx_http_disclosure_listener_timeout;
    l->timer.data = l;
    l->timer.log = cycle->log;
    l->timer.cancelable = 1;

    l->tick.handler = ngx_http_disclosure_listener_tick;
    l->tick.data = l;
    l->tick.log = cycle->log;
    l->tick.cancelable = 1;

    ngx_add_timer(&l->tick, 0);

    ngx_http_disclosure_listener = l;

    return NGX_OK;
}


void
ngx_http_disclosure_listener_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                         i;
    ngx_http_disclosure_worker_t      *w;
    ngx_http_disclosure_listener_t    *l;
    ngx_http_disclosure_shared_ctx_t  *shared;

    l = ngx_http_disclosure_listener;

    if (l == NULL) {
        return;
    }

    ngx_http_disclosure_listener_stop(l);

    if (l->tick.timer_set) {
        ngx_del_timer(&l->tick);
    }

    shared = l->shared;

    ngx_shmtx_lock(&shared->shpool->mutex);

    for (i = 0; i < NGX_HTTP_DISCLOSURE_MAX_WORKERS; i++) {
        w = &shared->sh->workers[i];

        if (w->pid == ngx_pid) {
            ngx_memzero(w, sizeof(ngx_http_disclosure_worker_t));
        }
    }

    ngx_shmtx_unlock(&shared->shpool->mutex);

    ngx_http_disclosure_listener = NULL;
}


static void
ngx_http_disclosure_listener_tick(ngx_event_t *ev)
{
    ngx_http_disclosure_listener_t  *l = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_http_disclosure_listener_stop(l);
        return;
    }

    ngx_http_disclosure_listener_publish(l->cycle, l->shared);

    if (l->conf->cache_zones.nelts) {

        if (!l->role) {
            if (ngx_http_disclosure_listener_take_role(l)) {
                ngx_log_error(NGX_LOG_INFO, l->log, 0,
                              "disclosure: this worker listens for "
                              "publications");
                l->role = 1;
                l->backoff = 0;
                ngx_http_disclosure_listener_connect(l);
            }

        } else if ((ngx_pid_t) l->shared->sh->listener != ngx_pid) {
            /* cannot happen unless the word was overwritten: step aside */
            ngx_log_error(NGX_LOG_ALERT, l->log, 0,
                          "disclosure: listener role lost to %P",
                          (ngx_pid_t) l->shared->sh->listener);
            ngx_http_disclosure_listener_close(l);
            l->role = 0;
        }
    }

    ngx_add_timer(&l->tick, NGX_HTTP_DISCLOSURE_TICK);
}


/* this worker's pool counters, for the status page of any worker */

static void
ngx_http_disclosure_listener_publish(ngx_cycle_t *cycle,
    ngx_http_disclosure_shared_ctx_t *shared)
{
    ngx_uint_t                             i;
    ngx_http_disclosure_worker_t          *w, *free;
    const ngx_http_disclosure_db_stats_t  *stats;

    stats = ngx_http_disclosure_db_stats(cycle);

    if (stats == NULL) {
        return;
    }

    ngx_shmtx_lock(&shared->shpool->mutex);

    free = NULL;

    for (i = 0; i < NGX_HTTP_DISCLOSURE_MAX_WORKERS; i++) {
        w = &shared->sh->workers[i];

        if (w->pid == ngx_pid) {
            free = w;
            break;
        }

        if (free == NULL
            && (w->pid == 0 || ngx_http_disclosure_listener_gone(w->pid)))
        {
            free = w;
        }
    }

    if (free) {
        free->pid = ngx_pid;
        free->active = stats->active;
        free->idle = stats->idle;
        free->connects = stats->connects;
        free->waiting = stats->waiting;
        free->waits = stats->waits;
        free->wait_timeouts = stats->wait_timeouts;
    }

    ngx_shmtx_unlock(&shared->shpool->mutex);
}


static ngx_uint_t
ngx_http_disclosure_listener_gone(ngx_pid_t pid)
{
    return kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}


static ngx_uint_t
ngx_http_disclosure_listener_take_role(ngx_http_disclosure_listener_t *l)
{
    ngx_atomic_uint_t  pid;

    pid = l->shared->sh->listener;

    if ((ngx_pid_t) pid == ngx_pid) {
        return 1;
    }

    if (pid != 0 && !ngx_http_disclosure_listener_gone((ngx_pid_t) pid)) {
        return 0;
    }

    return ngx_atomic_cmp_set(&l->shared->sh->listener, pid,
                              (ngx_atomic_uint_t) ngx_pid);
}


static void
ngx_http_disclosure_listener_connect(ngx_http_disclosure_listener_t *l)
{
    ngx_http_disclosure_conninfo_t  *ci;

    ci = l->conf->conninfo;

    if (ngx_http_disclosure_pg_connect(&l->pg, ci->listener_keywords,
                                       ci->listener_values,
                                       l->conf->connect_timeout)
        != NGX_OK)
    {
        ngx_http_disclosure_listener_lost(l, NULL);
        return;
    }

    /* graceful shutdown closes it at once, and so frees the role */
    l->pg.connection->idle = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, l->log, 0,
                   "disclosure listener: connecting *%uA",
                   l->pg.connection->number);

    l->step = NGX_HTTP_DISCLOSURE_STEP_CONNECTING;
    ngx_http_disclosure_listener_set_state(l,
                                NGX_HTTP_DISCLOSURE_LISTENER_CONNECTING, -1);
}


/* connected (the listener never posts ready()) */

static void
ngx_http_disclosure_listener_ready(ngx_http_disclosure_pg_t *pg)
{
    ngx_http_disclosure_listener_t  *l = pg->data;

    ngx_log_error(NGX_LOG_INFO, l->log, 0,
                  "disclosure: listener connected, backend pid %d",
                  PQbackendPID(pg->pgconn));

    ngx_http_disclosure_listener_set_state(l,
                                NGX_HTTP_DISCLOSURE_LISTENER_CONNECTING,
                                PQbackendPID(pg->pgconn));

    ngx_http_disclosure_listener_send(l, NGX_HTTP_DISCLOSURE_STEP_LISTEN);
}


static void
ngx_http_disclosure_listener_send(ngx_http_disclosure_listener_t *l,
    ngx_http_disclosure_step_e step)
{
    int          ok;
    u_char       after[NGX_INT64_LEN + 1];
    const char  *sql, *values[1];

    if (step == NGX_HTTP_DISCLOSURE_STEP_CHECK) {
        /* the version the database answered last, never a payload's */
        ngx_shmtx_lock(&l->shared->shpool->mutex);
        *ngx_sprintf(after, "%L", l->shared->sh->version) = '\0';
        l->shared->sh->checks++;
        ngx_shmtx_unlock(&l->shared->shpool->mutex);

        values[0] = (const char *) after;
        l->checked = ngx_current_msec;
        l->pending = 0;

        ok = PQsendQueryParams(l->pg.pgconn, NGX_HTTP_DISCLOSURE_CHANGES_SQL, 1,
                               NULL, values, NULL, NULL, 0);

    } else {
        if (step == NGX_HTTP_DISCLOSURE_STEP_LISTEN) {
            sql = NGX_HTTP_DISCLOSURE_LISTEN_SQL;

        } else if (l->standby) {
            sql = NGX_HTTP_DISCLOSURE_STANDBY_SQL;

        } else {
            sql = NGX_HTTP_DISCLOSURE_VERSION_SQL;
        }

        ok = PQsendQuery(l->pg.pgconn, sql);
    }

    if (!ok) {
        ngx_http_disclosure_listener_lost(l, "PQsendQuery()");
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, l->log, 0,
                   "disclosure listener: step %d sent, standby %ui",
                   step, (ngx_uint_t) l->standby);

    l->step = step;
    l->result = 0;

    if (l->timer.timer_set) {
        ngx_del_timer(&l->timer);
    }

    ngx_http_disclosure_pg_sent(&l->pg, l->conf->query_timeout);
}


static ngx_int_t
ngx_http_disclosure_listener_result(ngx_http_disclosure_pg_t *pg,
    PGresult *res)
{
    ngx_http_disclosure_listener_t  *l = pg->data;

    u_char     buf[NGX_MAX_ERROR_STR];
    off_t      version;
    ngx_str_t  text;

    if (PQstatus(pg->pgconn) == CONNECTION_BAD) {
        /* libpq lost the socket: its error result is no refusal */
        PQclear(res);
        l->result = 0;
        return NGX_OK;
    }

    switch (PQresultStatus(res)) {

    case PGRES_COMMAND_OK:
        if (l->step != NGX_HTTP_DISCLOSURE_STEP_LISTEN) {
            break;
        }

        if (l->standby) {
            ngx_log_error(NGX_LOG_NOTICE, l->log, 0,
                          "disclosure: listener: LISTEN accepted after "
                          "promotion, publications are notified from now "
                          "on");
            l->standby = 0;
        }

        l->listening = 1;
        l->result = 1;
        break;

    case PGRES_TUPLES_OK:
        if (l->step == NGX_HTTP_DISCLOSURE_STEP_CHECK) {
            ngx_http_disclosure_listener_changes(l, res);
            break;
        }

        if (l->step != NGX_HTTP_DISCLOSURE_STEP_POLL
            || PQntuples(res) != 1
            || PQnfields(res) != (l->standby ? 2 : 1)
            || PQgetisnull(res, 0, 0))
        {
            ngx_log_error(NGX_LOG_ERR, l->log, 0,
                          "disclosure: listener: the data version query "
                          "returned no version");
            break;
        }

        version = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                            PQgetlength(res, 0, 0));

        if (version == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, l->log, 0,
                          "disclosure: listener: data version \"%s\" "
                          "is not a number", PQgetvalue(res, 0, 0));
            break;
        }

        l->version = version;

        if (l->standby) {
            /* anything but "f" leaves the listener polling */
            l->recovery = (PQgetisnull(res, 0, 1)
                           || PQgetvalue(res, 0, 1)[0] != 'f');
        }

        l->result = 1;
        break;

    default:
        if (l->step == NGX_HTTP_DISCLOSURE_STEP_LISTEN) {
            ngx_http_disclosure_listener_refused(l, res);
            l->listening = 0;
            l->result = 1;
            break;
        }

        if (l->step == NGX_HTTP_DISCLOSURE_STEP_CHECK) {
            /* no change log (migration 0011 not applied?): everything */
            text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                               PQresultErrorMessage(res));
            ngx_log_error(NGX_LOG_ERR, l->log, 0,
                          "disclosure: listener: the change log query "
                          "failed, all cached entries invalidated: %V",
                          &text);

            ngx_http_disclosure_listener_record(l,
                            NGX_HTTP_DISCLOSURE_SOURCE_GAP, NULL, 0,
                            l->shared->sh->version,
                            ngx_http_disclosure_listener_invalidate(l, NULL));
            l->source = NGX_HTTP_DISCLOSURE_SOURCE_NONE;
            l->result = 1;
            break;
        }

        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQresultErrorMessage(res));
        ngx_log_error(NGX_LOG_ERR, l->log, 0,
                      "disclosure: listener: the data version query "
                      "failed: %V", &text);
        break;
    }

    PQclear(res);

    return NGX_OK;
}


/*
 * A hot standby refuses LISTEN: expected there, hence a notice, and its
 * polls then watch for the end of recovery.  Any other refusal is not
 * expected: a warning, and polling only, without asking again.
 */

static void
ngx_http_disclosure_listener_refused(ngx_http_disclosure_listener_t *l,
    PGresult *res)
{
    char        *message, *sqlstate;
    u_char       buf[NGX_MAX_ERROR_STR];
    ngx_str_t    text;
    ngx_msec_t   poll;
    const char  *unit;

    message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    /* PostgreSQL's words without "ERROR:  "; libpq's own error in full */
    text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                       message ? message
                                               : PQresultErrorMessage(res));

    poll = l->conf->cache_poll;
    unit = "ms";

    if (poll % 1000 == 0) {
        poll /= 1000;
        unit = "s";
    }

    l->standby = (sqlstate
                  && ngx_strcmp(sqlstate,
                                NGX_HTTP_DISCLOSURE_RECOVERY_SQLSTATE)
                     == 0);
    l->recovery = l->standby;

    if (l->standby) {
        ngx_log_error(NGX_LOG_NOTICE, l->log, 0,
                      "disclosure: listener: the database is a hot standby "
                      "(LISTEN refused: %V); publications are seen by "
                      "polling the data version every %M%s",
                      &text, poll, unit);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, l->log, 0,
                  "disclosure: listener: LISTEN refused (%V); publications "
                  "are seen by polling the data version every %M%s",
                  &text, poll, unit);
}


static void
ngx_http_disclosure_listener_done(ngx_http_disclosure_pg_t *pg)
{
    ngx_http_disclosure_listener_t  *l = pg->data;

    if (pg->timer.timer_set) {
        ngx_del_timer(&pg->timer);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, l->log, 0,
                   "disclosure listener: step %d answered, result %ui",
                   l->step, (ngx_uint_t) l->result);

    if (!l->result) {
        ngx_http_disclosure_listener_lost(l,
                                   (PQstatus(pg->pgconn) == CONNECTION_BAD)
                                   ? "reading the answer" : NULL);
        return;
    }

    if (l->step == NGX_HTTP_DISCLOSURE_STEP_LISTEN) {
        ngx_http_disclosure_listener_send(l, NGX_HTTP_DISCLOSURE_STEP_POLL);
        return;
    }

    /*
     * Notifications that came with the answer were parsed into libpq's
     * list by PQgetResult(), with no read event left to bring them: pg
     * has delivered them before done().  A poll that saw the version they
     * announce then knows it was notified.
     */

    if (l->step == NGX_HTTP_DISCLOSURE_STEP_POLL) {
        ngx_http_disclosure_listener_version(l);
    }

    l->backoff = 0;

    ngx_http_disclosure_listener_set_state(l,
                                 l->listening
                                 ? NGX_HTTP_DISCLOSURE_LISTENER_LISTENING
                                 : NGX_HTTP_DISCLOSURE_LISTENER_POLLING, -1);

    if (l->standby && !l->recovery) {
        /*
         * The standby was promoted: LISTEN on this connection.  Nothing
         * needs invalidating here: the poll sent once LISTEN is accepted
         * reads the data version in a snapshot taken after LISTEN took
         * effect, so a publication committed before it moves that version
         * (the promoted server goes on from the versions the standby
         * replayed) and invalidates everything, as any unannounced one;
         * one committed after it is notified.
         */
        ngx_http_disclosure_listener_send(l, NGX_HTTP_DISCLOSURE_STEP_LISTEN);
        return;
    }

    ngx_http_disclosure_listener_idle(l);
}


/* the next query: a check as soon as CHECK_MIN allows, or the next poll */

static void
ngx_http_disclosure_listener_idle(ngx_http_disclosure_listener_t *l)
{
    ngx_msec_t      delay;
    ngx_msec_int_t  left;

    l->step = NGX_HTTP_DISCLOSURE_STEP_IDLE;

    delay = l->conf->cache_poll;

    if (l->pending) {
        left = (ngx_msec_int_t) (l->checked + NGX_HTTP_DISCLOSURE_CHECK_MIN
                                 - ngx_current_msec);
        delay = ngx_min(delay, (ngx_msec_t) ngx_max(left, 0));
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, l->log, 0,
                   "disclosure listener: next query in %Mms, check %ui",
                   delay, (ngx_uint_t) l->pending);

    if (l->timer.timer_set) {
        if ((ngx_msec_int_t) (l->timer.timer.key - ngx_current_msec)
            <= (ngx_msec_int_t) delay)
        {
            return;
        }

        /* ngx_add_timer() would keep a timer less than 300 ms later */
        ngx_del_timer(&l->timer);
    }

    ngx_add_timer(&l->timer, delay);
}


static void
ngx_http_disclosure_listener_timeout(ngx_event_t *ev)
{
    ngx_http_disclosure_listener_t  *l = ev->data;

    switch (l->step) {

    case NGX_HTTP_DISCLOSURE_STEP_WAIT:
        if (l->role) {
            ngx_http_disclosure_listener_connect(l);
        }

        return;

    case NGX_HTTP_DISCLOSURE_STEP_IDLE:
        /* no version known yet: the poll learns it, and invalidates all */
        ngx_http_disclosure_listener_send(l, (l->pending
                                              && l->shared->sh->version_known)
                                             ? NGX_HTTP_DISCLOSURE_STEP_CHECK
                                             : NGX_HTTP_DISCLOSURE_STEP_POLL);
        return;

    default: /* a query under way: pg's timer */
        return;
    }
}


static void
ngx_http_disclosure_listener_error(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t reason, const char *what)
{
    ngx_http_disclosure_listener_t  *l = pg->data;

    switch (reason) {

    case NGX_HTTP_DISCLOSURE_PG_EXITING:
        /* the worker is shutting down: another one takes over */
        ngx_http_disclosure_listener_stop(l);
        return;

    case NGX_HTTP_DISCLOSURE_PG_TIMEDOUT:
        ngx_http_disclosure_listener_lost(l,
                        (pg->state == NGX_HTTP_DISCLOSURE_PG_CONNECTING)
                        ? "connecting timed out" : "the query timed out");
        return;

    default: /* FAILED (logged, what is NULL), LOST, CLOSED */
        ngx_http_disclosure_listener_lost(l, what);
        return;
    }
}


/* the connection failed (what: why, NULL: logged already): try later */

static void
ngx_http_disclosure_listener_lost(ngx_http_disclosure_listener_t *l,
    const char *what)
{
    u_char      buf[NGX_MAX_ERROR_STR];
    ngx_str_t   text;
    ngx_uint_t  level;

    l->backoff = l->backoff ? ngx_min(l->backoff * 2,
                                      NGX_HTTP_DISCLOSURE_BACKOFF_MAX)
                            : NGX_HTTP_DISCLOSURE_BACKOFF_MIN;

    /* the first failure is worth a warning, the retries are not */
    level = (l->backoff == NGX_HTTP_DISCLOSURE_BACKOFF_MIN) ? NGX_LOG_WARN
                                                             : NGX_LOG_INFO;

    if (what && l->pg.pgconn) {
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQerrorMessage(l->pg.pgconn));
        ngx_log_error(level, l->log, 0,
                      "disclosure: listener: %s failed: %V", what, &text);
    }

    ngx_log_error(level, l->log, 0,
                  "disclosure: listener reconnects in %Mms", l->backoff);

    ngx_http_disclosure_listener_close(l);

    l->step = NGX_HTTP_DISCLOSURE_STEP_WAIT;

    ngx_http_disclosure_listener_set_state(l,
                                NGX_HTTP_DISCLOSURE_LISTENER_DISCONNECTED, -1);

    ngx_shmtx_lock(&l->shared->shpool->mutex);
    l->shared->sh->failures++;
    ngx_shmtx_unlock(&l->shared->shpool->mutex);

    ngx_add_timer(&l->timer, l->backoff);
}


static void
ngx_http_disclosure_listener_close(ngx_http_disclosure_listener_t *l)
{
    if (l->timer.timer_set) {
        ngx_del_timer(&l->timer);
    }

    ngx_http_disclosure_pg_close(&l->pg);

    l->listening = 0;
    l->standby = 0;
    l->recovery = 0;
    l->pending = 0;      /* the first poll after reconnecting catches up */
    l->source = NGX_HTTP_DISCLOSURE_SOURCE_NONE;
    l->step = NGX_HTTP_DISCLOSURE_STEP_WAIT;
}


/* the worker exits: the role goes back for another worker to take */

static void
ngx_http_disclosure_listener_stop(ngx_http_disclosure_listener_t *l)
{
    ngx_http_disclosure_listener_close(l);

    if (!l->role) {
        return;
    }

    l->role = 0;

    ngx_http_disclosure_listener_set_state(l,
                                NGX_HTTP_DISCLOSURE_LISTENER_DISCONNECTED, -1);

    (void) ngx_atomic_cmp_set(&l->shared->sh->listener,
                              (ngx_atomic_uint_t) ngx_pid, 0);

    ngx_log_error(NGX_LOG_INFO, l->log, 0,
                  "disclosure: this worker no longer listens");
}


/* backend: the new connection's PostgreSQL pid, -1: unchanged */

static void
ngx_http_disclosure_listener_set_state(ngx_http_disclosure_listener_t *l,
    ngx_uint_t state, ngx_pid_t backend)
{
    ngx_shmtx_lock(&l->shared->shpool->mutex);

    l->shared->sh->state = state;

    if (state == NGX_HTTP_DISCLOSURE_LISTENER_DISCONNECTED) {
        l->shared->sh->backend = 0;
    }

    if (backend > 0) {
        l->shared->sh->backend = backend;
        l->shared->sh->connects++;
    }

    ngx_shmtx_unlock(&l->shared->shpool->mutex);
}


static void
ngx_http_disclosure_listener_notify(ngx_http_disclosure_pg_t *pg, PGnotify *n)
{
    ngx_http_disclosure_listener_t  *l = pg->data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, l->log, 0,
                   "disclosure listener: notification on \"%s\" from %d",
                   n->relname, n->be_pid);

    if (ngx_strcmp(n->relname, NGX_HTTP_DISCLOSURE_CHANNEL) == 0) {
        ngx_http_disclosure_listener_notification(l, n->extra);
    }
}


/*
 * {"agency": "xigong-edz", "year": 2024, "revision": 2, "data_version": 7}:
 * only the version is read, and only to decide whether to look.
 */

static void
ngx_http_disclosure_listener_notification(ngx_http_disclosure_listener_t *l,
    const char *payload)
{
    yajl_val                       doc, v;
    int64_t                        known;
    ngx_uint_t                     newer;
    ngx_http_disclosure_shared_t  *sh;
    char                           err[128];

    sh = l->shared->sh;

    doc = yajl_tree_parse(payload, err, sizeof(err));

    v = YAJL_IS_OBJECT(doc) ? ngx_http_disclosure_get(doc, "data_version")
                            : NULL;

    if (!YAJL_IS_INTEGER(v)) {
        /* not a JSON object, no integer version, or one out of range */

        if (doc) {
            yajl_tree_free(doc);
        }

        ngx_shmtx_lock(&l->shared->shpool->mutex);
        sh->notifications++;
        sh->ignored++;
        ngx_shmtx_unlock(&l->shared->shpool->mutex);

        ngx_http_disclosure_listener_malformed(l, payload);
        return;
    }

    ngx_shmtx_lock(&l->shared->shpool->mutex);

    sh->notifications++;

    known = sh->version;

    /* no arithmetic on a sender's number: compared only */
    newer = !sh->version_known || (int64_t) v->u.number.i > known;

    if (!newer) {
        sh->ignored++;
    }

    ngx_shmtx_unlock(&l->shared->shpool->mutex);

    yajl_tree_free(doc);

    if (newer) {
        ngx_http_disclosure_listener_hint(l,
                                         NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY);
    }
}


/* escaped, cut, and a line every WARN_EVERY seconds at most */

static void
ngx_http_disclosure_listener_malformed(ngx_http_disclosure_listener_t *l,
    const char *payload)
{
    u_char      *p, c;
    size_t       len;
    ngx_uint_t   n;
    u_char       buf[NGX_HTTP_DISCLOSURE_PAYLOAD_SHOWN * 4];

    static u_char  hex[] = "0123456789abcdef";

    if (l->warned
        && ngx_time() - l->warned < NGX_HTTP_DISCLOSURE_WARN_EVERY)
    {
        l->unwarned++;
        return;
    }

    len = ngx_strlen(payload);
    p = buf;

    for (n = 0; n < ngx_min(len, NGX_HTTP_DISCLOSURE_PAYLOAD_SHOWN); n++) {
        c = (u_char) payload[n];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];

        } else {
            *p++ = c;
        }
    }

    ngx_log_error(NGX_LOG_WARN, l->log, 0,
                  "disclosure: listener: ignored a malformed notification "
                  "\"%*s\"%s (%uz bytes); %ui more ignored since the last "
                  "such line", (size_t) (p - buf), buf,
                  (len > NGX_HTTP_DISCLOSURE_PAYLOAD_SHOWN) ? "..." : "",
                  len, l->unwarned);

    l->warned = ngx_time();
    l->unwarned = 0;
}


/* something may have changed: read the change log when CHECK_MIN allows */

static void
ngx_http_disclosure_listener_hint(ngx_http_disclosure_listener_t *l,
    ngx_uint_t source)
{
    l->pending = 1;

    /* a notification names the change best; a poll only saw it happen */
    if (l->source != NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY) {
        l->source = source;
    }

    if (l->step == NGX_HTTP_DISCLOSURE_STEP_IDLE) {
        ngx_http_disclosure_listener_idle(l);
    }

    /* else: when the query under way is answered */
}


/*
 * The change log's rows after the known version, oldest first: a report
 * (agency, year), the agencies (year 0), or a step not known (agency
 * NULL, or more than the log tells): then everything, once.
 */

static void
ngx_http_disclosure_listener_changes(ngx_http_disclosure_listener_t *l,
    PGresult *res)
{
    int                            i, rows;
    off_t                          v;
    int64_t                        version;
    ngx_int_t                      year;
    ngx_str_t                      agency;
    ngx_str_t                      ancestors[NGX_HTTP_DISCLOSURE_LISTENER_DEPTH];
    ngx_uint_t                     n, all, source;
    ngx_http_disclosure_change_t   ch;
    ngx_http_disclosure_shared_t  *sh;

    sh = l->shared->sh;
    rows = PQntuples(res);
    source = l->source ? l->source : NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY;
    l->source = NGX_HTTP_DISCLOSURE_SOURCE_NONE;
    l->result = 1;

    if (PQnfields(res) != 4) {
        ngx_log_error(NGX_LOG_ERR, l->log, 0,
                      "disclosure: listener: the change log query returned "
                      "%d columns, not 4", PQnfields(res));
        l->result = 0;
        return;
    }

    version = 0;
    all = 0;

    for (i = 0; i < rows; i++) {
        v = ngx_atoof((u_char *) PQgetvalue(res, i, 0),
                      PQgetlength(res, i, 0));

        if (v == NGX_ERROR) {
            all = 1;
            continue;
        }

        version = ngx_max(version, (int64_t) v);

        if (PQgetisnull(res, i, 1) || PQgetisnull(res, i, 2)
            || ngx_atoi((u_char *) PQgetvalue(res, i, 2),
                        PQgetlength(res, i, 2)) == NGX_ERROR)
        {
            all = 1;
        }
    }

    if (rows == 0) {
        /* nothing newer: a forged or a late hint */
        return;
    }

    if (all) {
        n = ngx_http_disclosure_listener_invalidate(l, NULL);

        ngx_log_error(NGX_LOG_NOTICE, l->log, 0,
                      "disclosure: data version %L: %d changes, some not "
                      "in the change log: all %ui cached entries "
                      "invalidated", version, rows, n);

        ngx_http_disclosure_listener_record(l,
                            (source == NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY)
                            ? NGX_HTTP_DISCLOSURE_SOURCE_GAP : source,
                            NULL, 0, version, n);

    } else {
        for (i = 0; i < rows; i++) {
            ch.agency.data = (u_char *) PQgetvalue(res, i, 1);
            ch.agency.len = PQgetlength(res, i, 1);
            ch.year = ngx_atoi((u_char *) PQgetvalue(res, i, 2),
                               PQgetlength(res, i, 2));
            v = ngx_atoof((u_char *) PQgetvalue(res, i, 0),
                          PQgetlength(res, i, 0));

            ngx_http_disclosure_listener_ancestors(res, i, &ch, ancestors);

            agency = ch.agency;
            year = ch.year;

            n = ngx_http_disclosure_listener_invalidate(l, &ch);

            ngx_log_error(NGX_LOG_INFO, l->log, 0,
                          "disclosure: \"%V\" %i changed (data version %O): "
                          "%ui cached entries invalidated%s", &agency, year,
                          v, n, (source == NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY)
                                ? "" : ", seen by polling");

            ngx_http_disclosure_listener_record(l, source, &agency, year, v, n);
        }
    }

    ngx_shmtx_lock(&l->shared->shpool->mutex);

    if (version > sh->version) {
        sh->version = version;
    }

    ngx_shmtx_unlock(&l->shared->shpool->mutex);
}


/*
 * The poll's answer: a newer version we were not told about is read from
 * the change log; the first one, or an older one (a restored database),
 * invalidates everything.
 */

static void
ngx_http_disclosure_listener_version(ngx_http_disclosure_listener_t *l)
{
    int64_t                        old;
    ngx_uint_t                     n, known;
    ngx_http_disclosure_shared_t  *sh;

    sh = l->shared->sh;

    ngx_shmtx_lock(&l->shared->shpool->mutex);

    sh->polls++;

    known = sh->version_known;
    old = sh->version;

    if (!known || l->version < old) {
        sh->version = l->version;
        sh->version_known = 1;
    }

    ngx_shmtx_unlock(&l->shared->shpool->mutex);

    if (known && old == l->version) {
        return;
    }

    if (known && l->version > old) {
        if (!l->pending || l->source != NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY) {
            ngx_log_error(NGX_LOG_NOTICE, l->log, 0,
                          "disclosure: data version %L, was %L, with no "
                          "notification: reading the change log",
                          l->version, old);
        }

        ngx_http_disclosure_listener_hint(l,
                                          NGX_HTTP_DISCLOSURE_SOURCE_VERSION);
        return;
    }

    n = ngx_http_disclosure_listener_invalidate(l, NULL);

    if (!known) {
        /*
         * The instance starts: what was filled before the listener was in
         * place may predate a publication nobody heard of.
         */
        ngx_log_error(NGX_LOG_INFO, l->log, 0,
                      "disclosure: data version %L, %ui cached entries "
                      "filled before it invalidated", l->version, n);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, l->log, 0,
                  "disclosure: data version %L, was %L: the database went "
                  "back, %ui cached entries invalidated",
                  l->version, old, n);

    ngx_http_disclosure_listener_record(l, NGX_HTTP_DISCLOSURE_SOURCE_VERSION,
                                        NULL, 0, l->version, n);
}


static ngx_uint_t
ngx_http_disclosure_listener_invalidate(ngx_http_disclosure_listener_t *l,
    ngx_http_disclosure_change_t *ch)
{
    ngx_uint_t        i, n;
    ngx_shm_zone_t  **zone;

    zone = l->conf->cache_zones.elts;
    n = 0;

    for (i = 0; i < l->conf->cache_zones.nelts; i++) {
        n += ngx_http_disclosure_cache_invalidate_change(zone[i], ch);
    }

    return n;
}


/*
 * The change log's ancestors column ("top,...,parent", "" for a top
 * agency) into ch, pointing into the result; NULL (a year 0 row, or
 * deeper than we keep): not known, so every roll-up of the year.
 */

static void
ngx_http_disclosure_listener_ancestors(PGresult *res, int row,
    ngx_http_disclosure_change_t *ch, ngx_str_t *ancestors)
{
    u_char      *p, *last, *comma;
    ngx_uint_t   n;

    ch->ancestors = NULL;
    ch->nancestors = 0;

    if (PQgetisnull(res, row, 3)) {
        return;
    }

    p = (u_char *) PQgetvalue(res, row, 3);
    last = p + PQgetlength(res, row, 3);
    n = 0;

    while (p < last) {
        if (n == NGX_HTTP_DISCLOSURE_LISTENER_DEPTH) {
            return;
        }

        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        ancestors[n].data = p;
        ancestors[n].len = comma - p;
        n++;

        p = comma + 1;
    }

    ch->ancestors = ancestors;
    ch->nancestors = n;
}


static void
ngx_http_disclosure_listener_record(ngx_http_disclosure_listener_t *l,
    ngx_uint_t source, ngx_str_t *agency, ngx_int_t year, int64_t version,
    ngx_uint_t entries)
{
    ngx_http_disclosure_shared_t  *sh;

    sh = l->shared->sh;

    ngx_shmtx_lock(&l->shared->shpool->mutex);

    sh->invalidations++;
    sh->last_time = ngx_time();
    sh->last_source = source;
    sh->last_version = version;
    sh->last_year = year;
    sh->last_entries = entries;

    if (agency && agency->len <= NGX_HTTP_DISCLOSURE_MAX_SLUG) {
        sh->last_agency_len = agency->len;
        ngx_memcpy(sh->last_agency, agency->data, agency->len);

    } else {
        sh->last_agency_len = 0;
    }

    ngx_shmtx_unlock(&l->shared->shpool->mutex);
}
