// The Azure adapters (IoT Hub, Event Hubs ingest, Service Bus, Blob reference data) land here.
export const AZURE_ADAPTER_PACKAGE = '@fieldlink/adapter-azure';
