/** drive-ingest: the service class that runs one Drive source into the source bucket (main.ts is the ECS shell). */
export { DriveIngestService, runDriveIngest, formatRunReport, type DriveIngestServiceDeps, type DriveRunOptions, type DriveRunReport } from './DriveIngestService';
export { readDriveIngestSettings, type DriveIngestSettings } from './settings';
