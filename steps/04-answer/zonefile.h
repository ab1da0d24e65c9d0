/* zonefile: reading RFC 1035 master files (zone files) into zones. */
#ifndef DNS_ZONEFILE_H
#define DNS_ZONEFILE_H

#include <stddef.h>

#include "zone.h"

/*
 * A master file is text, one record per line (RFC 1035 5.1):
 *
 *     $ORIGIN example.com.
 *     $TTL 3600
 *     @       IN SOA  ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
 *             IN NS   ns1
 *     www     IN A    192.0.2.1
 *
 * owner (blank: the previous one; "@": the origin; no final dot: relative to
 * $ORIGIN), then TTL and class in either order (both optional), the type,
 * and the RDATA fields as the record-type table (rdata.h) lays them out.
 * Parentheses join lines, ';' starts a comment, "\X" and "\DDD" escape.
 */

enum {
    /* Error messages: "zones/example.zone:12: unknown type 'AAA'" and room for
     * a quoted token. */
    ZONEFILE_ERROR_MAX = 512,
    /* The largest zone file read: 512 MiB, some 20 million records. That is
     * far more than this server is for (the root zone is 2 MiB, the bench's
     * 100k-name zone 2.7 MiB), and the text still fits in memory at once. A
     * larger file is a mistake (a disk image, a log): the limit turns it into
     * a message instead of memory that grows until it runs out. */
    ZONEFILE_SIZE_MAX = 512 * 1024 * 1024,
};

/*
 * Reads the master file at `path` into a new zone added to `set`. `origin`,
 * if not NULL, is the starting $ORIGIN (text); otherwise the file must set
 * $ORIGIN before its first relative name, or the first record's owner must
 * be absolute. The first record must be the zone's SOA. The file must be a
 * regular file of at most ZONEFILE_SIZE_MAX bytes (a directory, a FIFO or a
 * device is refused, and opening a FIFO does not wait for a writer).
 * Returns 0, or -1 with "path:line: what is wrong" in `err` ("path: what is
 * wrong" when no line is at fault), and `set` unchanged.
 */
int zonefile_load_file(struct zone_set *set, const char *path, const char *origin, char *err,
                       size_t errcap);

/*
 * Reads the `count` master files of `paths` into `set`, in order, each as
 * zonefile_load_file() does with no starting origin, and logs "loaded zone
 * ORIGIN from PATH (N names)" for each. Two files of one zone (the same
 * origin, compared without case), or a file of a zone `set` already has, are
 * an error. Returns 0, or -1 with the first file's error in `err` and `set`
 * unchanged (the zones of the files before it freed).
 */
int zonefile_load_files(struct zone_set *set, const char *const *paths, size_t count, char *err,
                        size_t errcap);

/* The same from text in memory; `source` names it in error messages. */
int zonefile_load_text(struct zone_set *set, const char *text, const char *source,
                       const char *origin, char *err, size_t errcap);

#endif
