/** The app's own injection token: the Switchboard instances made before Nest starts. */
export const SWITCHBOARD_APP = 'nestjs-chat:switchboard';
