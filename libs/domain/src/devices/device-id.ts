/**
 * IoT Hub device ids: case-sensitive, up to 128 characters of letters, digits and
 * `- : . + % _ # * ? ! ( ) , = @ ; $ '`. The quote is allowed, so anything that embeds an id in
 * an OData filter must escape it.
 */
export const HUB_DEVICE_ID_PATTERN = /^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$/;

export const isHubDeviceId = (value: unknown): value is string => typeof value === 'string' && HUB_DEVICE_ID_PATTERN.test(value);
