/** hdoc-get-user: the 100DaysOfCloud API route (see handlers/hdoc/users.ts). */
import { queryOf, serve } from "../../lib/http-api";
import { getUser, usersApiFromEnv } from "../users";

const api = usersApiFromEnv();

export const handler = (event: unknown) => serve(() => getUser(api, queryOf(event)));
