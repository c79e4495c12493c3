/** RFC 3339 in UTC without milliseconds, as the seed APIs write times ("2016-09-26T09:27:04Z"). */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
