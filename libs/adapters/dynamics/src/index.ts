// The Dynamics 365 (Dataverse Web API) adapter lands here.
export const DYNAMICS_ADAPTER_PACKAGE = '@fieldlink/adapter-dynamics';
