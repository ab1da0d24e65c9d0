/* text: the escapes of master-file text (RFC 1035 5.1), shared by names and character-strings. */
#ifndef DNS_TEXT_H
#define DNS_TEXT_H

/*
 * In zone files and in what dig prints, a byte that cannot be written as
 * itself is escaped: "\X" stands for the character X (so "\." is a dot inside
 * a label, not a separator), and "\DDD" for the byte whose value is the three
 * decimal digits DDD ("\032" is a space). Names and character-strings use the
 * same escapes, so they are decoded in one place.
 */

/* Why an escape could not be decoded (negative, so never a byte value). */
enum text_status {
    TEXT_ERR_DDD_DIGITS = -1, /* "\1x": \DDD needs exactly three digits */
    TEXT_ERR_DDD_RANGE = -2,  /* "\256": a byte is at most 255 */
    TEXT_ERR_LONE = -3,       /* a backslash with nothing after it */
};

/*
 * Decodes one byte of text at *p (which must not be at the terminating NUL):
 * a plain character, "\X" or "\DDD". Advances *p past what it read and
 * returns the byte (0-255), or a negative enum text_status with *p unchanged.
 */
int text_unescape(const char **p);

/* A short English phrase for a status ("\DDD needs three digits"). */
const char *text_strerror(int status);

#endif
