// Casts between float dtypes: the gradient is cast back to the input's dtype.
import { registerGradient } from '../registry';
import { unary } from './helpers';

registerGradient({ opType: 'Cast', gradient: unary((c, dy, x) => c.em.cast(dy, c.meta(x).dtype)) });
registerGradient({ opType: 'CastLike', gradient: unary((c, dy, x) => c.em.cast(dy, c.meta(x).dtype)) });
