/** How the v2alpha routes present a prepay: the view its events carry too (src/db/views/prepay.ts). */
export { prepayView as prepayBody } from '../../db/views/prepay.ts';
