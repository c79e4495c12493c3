/** The API's time format (the seeds'): kept in src/domain so that events' data write times the same way. */
export { formatTimestamp } from '../domain/format.ts';
