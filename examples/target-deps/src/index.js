'use strict';

module.exports = {
  ...require('./slug'),
  ...require('./catalog'),
  ...require('./settings'),
  ...require('./report'),
  ...require('./money'),
};
