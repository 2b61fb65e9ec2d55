/** hdoc-get-users: the 100DaysOfCloud API route (see handlers/hdoc/users.ts). */
import { pathOf, queryOf, serve } from "../../lib/http-api";
import { listUsers, usersApiFromEnv } from "../users";
import { lambdaHandler } from "../../lib/logger";

const api = usersApiFromEnv();

export const handler = lambdaHandler((event: unknown) => serve(() => listUsers(api, queryOf(event), pathOf(event, "/users"))));
