// Default-domain ops whose float outputs carry no gradient to their inputs (random draws shaped
// like the input, rounding, shapes and indices): the values they produce are treated as constants,
// so a path through them is not a gradient path (and needs no rule).
import { registerNonDifferentiable } from '../registry';

registerNonDifferentiable('', [
  'RandomUniformLike', 'RandomNormalLike', 'Bernoulli', 'EyeLike', 'Floor', 'Ceil', 'Round', 'Sign',
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'OneHot',
]);
