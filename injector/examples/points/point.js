// A named point from Node, through koffi (npm install koffi): Node has no FFI of its own.
// Under the shim, LD_PRELOAD names libfaultline_inject.so; koffi.load on that path gets the
// copy already loaded, whose faultline_point is bound. Without the shim nothing is loaded and
// the point is a no-op (koffi is not even required). The call is synchronous: a hold parks
// the event loop there, which is the point of a hold.
//
//   faultline inject --rule 'point:plan.apply -> fail(EIO)' -- node point.js
'use strict';

const path = require('node:path');

function bindPoint() {
  const shim = (process.env.LD_PRELOAD || '')
    .split(/[\s:]+/)
    .find((lib) => path.basename(lib).startsWith('libfaultline_inject'));
  if (!shim) return () => 0;
  return require('koffi').load(shim).func('int faultline_point(const char *name)');
}

// faultlinePoint(name): 0, or the errno of a fail(ERRNO) rule on the point.
const faultlinePoint = bindPoint();

const name = process.argv[2] || 'plan.apply';
console.log(`faultline_point(${name}) = ${faultlinePoint(name)}`);
