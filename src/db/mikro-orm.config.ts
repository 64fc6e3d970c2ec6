import { loadConfig } from '../config';
import { ormOptions } from './orm';

/** Configuration for the `mikro-orm` CLI (schema diffing, `migration:create`). The application builds its own. */
export default ormOptions(loadConfig().database);
