// Preloaded by the gateway bench with GC_TRACE=1 (NODE_OPTIONS=--require ...): V8 then logs each
// garbage collection (--trace-gc-nvp), which NODE_OPTIONS itself may not set.
require('node:v8').setFlagsFromString('--trace-gc-nvp');
