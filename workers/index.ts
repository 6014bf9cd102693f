export default { fetch: () => new Response('ok') };
export class PartnerState {}
export class CorridorWindow {}
export class Control {}
