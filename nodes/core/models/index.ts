// The model catalog: paging and search, a version's input schema and the check of an input against it.
export * from './paging';
export * from './input-schema';
export * from './model-inputs';
export * from './output-text';
