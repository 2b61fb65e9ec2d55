/** hdoc-get-user: the 100DaysOfCloud API route (see handlers/hdoc/users.ts). */
import { queryOf, serve } from "../../lib/http-api";
import { getUser, usersApiFromEnv } from "../users";
import { lambdaHandler } from "../../lib/logger";

const api = usersApiFromEnv();

export const handler = lambdaHandler((event: unknown) => serve(() => getUser(api, queryOf(event))));
