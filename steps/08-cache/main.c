/* Step 8 — cache: the recursive resolver remembers what it learns, for as long as the TTL says. */
#include "forward.h"
#include "loop.h"
#include "server.h"

/*
 * What changes here:
 *   cache.c     RRsets and negative answers kept for their TTL, keyed by
 *               name, type and class, ranked by trust, least recently used
 *               out first when full;
 *   resolve.c   looks in the cache before asking anyone: a cached answer,
 *               CNAME links, a negative answer, or the closest zone cut it
 *               knows; caches what each reply teaches (in bailiwick only);
 *   forward.c   --cache-size; answers at once when the cache (or a local
 *               zone) holds everything a query asks; RD=0 gets the cache;
 *   server.c    server_trace_note(): --trace says when a reply came from
 *               the cache.
 */
static struct forward resolver;

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-8",
        .summary = "Stage 8: a caching recursive resolver: local zones, then the cache, then "
                   "resolution from the root servers of --root-hints.",
        .handle = forward_handle,
        .ctx = &resolver,
        .extras = forward_options,
        .n_extras = FORWARD_OPTIONS,
        .setup = forward_setup,
        .report = forward_report,
    };
    forward_init(&resolver);
    int status = server_main(&step, argc, argv);
    forward_free(&resolver); /* before the loop its sockets are watched by */
    loop_free(server_loop());
    return status;
}
