/** New unique ids (GUIDs where they cross into CFS). */
export interface IdPort {
  newId(): string;
}
