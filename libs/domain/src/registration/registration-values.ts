/** `msdyn_registrationstatus` of `msdyn_iotdevice`. */
export const RegistrationStatus = {
  Unknown: 192350000,
  Unregistered: 192350001,
  InProgress: 192350002,
  Registered: 192350003,
  Error: 192350004,
} as const;
export type RegistrationStatus = (typeof RegistrationStatus)[keyof typeof RegistrationStatus];
