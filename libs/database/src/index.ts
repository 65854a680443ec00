// @platform/database: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { DatabaseModule } from './database.module';
export { lockFolder, type Db, DATABASE_PASSWORD, DatabaseService } from './database.service';
export { olderThan } from './cursor';
export { preparedTableSelect, tableRowsMapper, type TableSelection, type TableSelectionRow } from './table-select';
