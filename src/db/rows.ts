/** Reading raw query rows: timestamps come back as text or Date depending on the driver's parsers. */
export const toDate = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
