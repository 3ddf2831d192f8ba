-- Port of migrations/sqlite/0014_parked_by.sql: the instance that polls a parked generating
-- task, taken over by another only when that instance no longer holds its owner lock.
alter table task add column parked_by text;
