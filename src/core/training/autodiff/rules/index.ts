// Every op family's rules, registered by importing its file: the builder reaches the registry
// through this module, so the registry it consults always holds every rule, each registered once
// (a file imported twice is evaluated once; registering an op twice throws).
import './elementwise';
import './activation';
import './normalization';
import './reduce';
import './matmul';
import './gather';
import './shape';
import './cast';
import './dropout';
import './non-differentiable';

export { gradientRegistry, listRegisteredGradients } from '../registry';
