'use strict';
// Lvl_UP example target: INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

module.exports = {
  ...require('./users'),
  ...require('./config'),
  ...require('./stats'),
  ...require('./format'),
};
